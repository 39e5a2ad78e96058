package moderate

import "github.com/winnow-dev/winnow/dedupe"

// Built-in promotional phrases, matched on normalised words (so "Sign-up",
// "sign up" and "SIGN UP" are one phrase). Strong phrases are pitches or
// calls to action on their own; weak ones only add weight.
var (
	strongPromo = []string{
		// shopping calls to action
		"buy now", "buy it now", "shop now", "shop the look", "shop the collection", "order now", "order today",
		"get it now", "get yours", "add to cart", "add to bag", "add to basket", "limited time offer",
		"while supplies last", "free shipping", "use code", "use promo code", "promo code",
		"coupon code", "discount code", "money back guarantee", "click here to buy", "click here to order",
		"check latest price", "check price on amazon",
		// subscription and newsletter pitches
		"subscribe for free", "subscribe now", "subscribe today", "subscribe to our newsletter",
		"subscribe to get", "sign up for our newsletter", "sign up for free", "sign up now", "sign up today",
		"sign up to get", "sign up to receive", "sign up for the", "join our newsletter", "join our mailing list",
		"get our newsletter", "delivered to your inbox", "straight to your inbox", "direct to your inbox",
		"stay on top of the latest", "never miss a story", "start your free trial", "start a free trial",
		"try it free", "download the app", "get the app",
	}
	weakPromo = []string{
		"newsletter", "subscribe", "subscription", "sign up", "deal", "deals", "sale", "discount", "offer",
		"coupon", "shop", "sponsored", "advertisement", "affiliate", "commission", "free trial", "inbox",
		"exclusive", "insights", "save", "act now", "call now", "don t miss out", "best price", "lowest price",
		"free delivery", "check price", "available on amazon",
	}
)

// compiledPhrases holds phrases as word-hash sequences with their weights.
type compiledPhrases struct {
	m       *wordMatcher
	weights []float64
	texts   []string
}

func compilePhrases(groups ...phraseGroup) *compiledPhrases {
	n := dedupe.NewNormalizer()
	c := &compiledPhrases{}
	var seqs [][]uint64
	for _, g := range groups {
		for _, p := range g.phrases {
			words := n.HashWords(nil, p)
			if len(words) == 0 {
				continue
			}
			seqs = append(seqs, words)
			c.weights = append(c.weights, g.weight)
			c.texts = append(c.texts, p)
		}
	}
	c.m = newWordMatcher(seqs)
	return c
}

type phraseGroup struct {
	phrases []string
	weight  float64
}

func normalizedWords(s string) int {
	w := dedupe.NewNormalizer().HashWords(nil, s)
	return len(w)
}
