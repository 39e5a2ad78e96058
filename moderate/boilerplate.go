package moderate

// Boilerplate line rules in the spirit of C4 and Gopher: a line is
// boilerplate when it carries a consent, legal or share/follow phrase and is
// short, or names javascript or cookies with a policy word.
var (
	boilerplatePhrases = []string{
		"cookie policy", "use of cookies", "we use cookies", "accept cookies", "cookie settings", "manage cookies",
		"privacy policy", "terms of use", "terms of service", "terms and conditions", "all rights reserved",
		"enable javascript", "javascript is disabled", "javascript must be enabled", "your browser does not support",
		"share on facebook", "share on twitter", "share this article", "share this story", "follow us on",
		"follow us", "like us on facebook", "skip to main content", "skip to content", "back to top",
	}
	// boilerplateMaxWords: longer lines are body text that mentions these.
	boilerplateMaxWords = 25
)
