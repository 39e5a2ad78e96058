package main

// configDocs documents every key of the configuration, by its dotted path.
// printConfig writes each above its key, so `winnow run --check-config` and
// deploy/winnow.example.yaml explain themselves; the moderation keys serve
// deploy/policy.example.yaml too, without their "pipeline.moderation."
// prefix. TestConfigDocsCoverEveryKey fails on a key without a text and on a
// text without a key.
var configDocs = map[string]string{
	"nats": "How to reach NATS. Without a url, winnow runs an embedded server (see embedded).",
	"nats.url": "Server URLs, comma-separated (nats://a:4222,nats://b:4222). Credentials in a URL\n" +
		"(nats://user:pass@host) work and are masked wherever winnow prints it.",
	"nats.name":           "Connection name, as the server's monitoring shows it.",
	"nats.user":           "User and password authentication.",
	"nats.password":       "",
	"nats.token":          "Token authentication.",
	"nats.nkey_seed_file": "NKey authentication: a file holding the user's seed.",
	"nats.creds_file":     "JWT authentication: a .creds file (user JWT and NKey seed).",
	"nats.tls":            "TLS: ca signs the server's certificate; cert and key are a client certificate.",
	"nats.tls.ca":         "",
	"nats.tls.cert":       "",
	"nats.tls.key":        "",
	"nats.inbox_prefix": "Prefix of the subjects replies come back on, instead of _INBOX, for a user that may\n" +
		"subscribe only below a prefix of its own (_INBOX_winnow).",
	"nats.jetstream_domain": "JetStream domain whose streams winnow uses (through $JS.<domain>.API), for a worker\n" +
		"on a leaf node using the hub's JetStream. Empty: the connected server's own.",
	"nats.connect_timeout": "Timeout of one connection attempt.",
	"nats.startup_wait": "How long start-up waits for a server that does not answer yet, and then for its\n" +
		"JetStream (a cluster electing its meta leader). 0: fail at once.",

	"embedded":             "The nats-server winnow runs in-process when nats.url is empty.",
	"embedded.host":        "Address and port it listens on for clients.",
	"embedded.port":        "",
	"embedded.store_dir":   "Directory of its JetStream store.",
	"embedded.max_payload": "Largest message it takes, in bytes (or 8MiB; KiB, MiB, GiB): keep it at least twice\nworker.max_doc_bytes, since a record is larger than its document.",

	"http":      "Health and metrics listener: /healthz, /readyz, /metrics.",
	"http.addr": "Listen address; empty turns the listener off.",
	"http.pprof": "Also serve Go's runtime profiles at /debug/pprof/ (off: they show the process's\n" +
		"internals, and a CPU profile costs while it runs).",

	"log":        "Logging (zap). Document text is logged only at debug.",
	"log.level":  "debug, info, warn (or warning) or error, in any case (INFO).",
	"log.format": "json or console, in any case.",

	"policy": "How `winnow run` follows its moderation policy (pipeline.moderation or --policy).",
	"policy.watch": "How often to read the policy's files (and the model and blocklist files it names) and\n" +
		"reload when their bytes changed. 0: only SIGHUP reloads.",

	"worker":      "The NATS worker.",
	"worker.mode": "jetstream (durable pull consumer, at least once, one outcome per input) or core\n(a plain queue group, at most once, for a server without JetStream).",
	"worker.subjects": "Input subject and output prefixes: an input on <input prefix>.<suffix> gives its\n" +
		"outcome on <output prefix>.<suffix>. Literal subjects; input ends in .>.",
	"worker.subjects.input":    "",
	"worker.subjects.clean":    "Cleaned records.",
	"worker.subjects.dup":      "Whole-document duplicates (duplicate_of set).",
	"worker.subjects.rejected": "Documents a moderation rule rejected.",
	"worker.subjects.dlq":      "Dead letters: reason, error and the original bytes.",
	"worker.input_stream":      "JetStream stream of the input (a work queue).",
	"worker.output_stream":     "JetStream stream of the four outcomes.",
	"worker.create_streams": "Create missing streams and the consumer at start, and keep the streams' subjects and\n" +
		"duplicate window as configured (other stream settings stay the operator's).\n" +
		"false: they must exist.",
	"worker.replicas": "Replicas of the streams winnow creates.",
	"worker.compression": "Compression of the streams winnow creates: none or s2 (the server compresses what\n" +
		"it stores; the bench corpus's output stream took 0.54 of the disk). A stream that\n" +
		"exists keeps its own.",
	"worker.duplicate_window": "Output stream's Nats-Msg-Id window: a redelivered input's record within it is\n" +
		"dropped. Longer than ack_wait x max_deliver plus the backoff, and than the longest\n" +
		"time every worker may be down.",
	"worker.durable":         "Durable pull consumer every replica shares.",
	"worker.queue_group":     "Queue group of mode core.",
	"worker.ack_wait":        "How long a delivered message may go unacked before it is delivered again; a handler\nsends in-progress acks every ack_wait/2 while it works.",
	"worker.max_deliver":     "Deliveries of an input before it is dead-lettered (max_deliveries).",
	"worker.backoff":         "Redelivery delays after a transient failure, one per attempt (the last repeats).",
	"worker.max_ack_pending": "Most messages delivered and not yet acked, across every replica.",
	"worker.pull_batch": "Messages pulled ahead of the handlers. The ack_wait clock runs from delivery: where a\n" +
		"document can take seconds, keep it a small multiple of handlers.",
	"worker.handlers": "Documents in flight at once (default 4 x GOMAXPROCS): a handler mostly waits for its\n" +
		"record's PubAck.",
	"worker.max_doc_bytes": "Largest input cleaned, in bytes (or 1MiB; KiB, MiB, GiB), as it came and as it\n" +
		"decompresses and decodes to; a larger one is dead-lettered (too_large) whole, so\n" +
		"winnow redrive --reasons too_large sends it round once this is raised.",
	"worker.publish_timeout": "Wait for an outcome's PubAck.",
	"worker.drain_timeout":   "On SIGTERM, time to finish in-flight documents; the rest are redelivered elsewhere.",
	"worker.carry_headers": "Input headers copied onto the input's outcome: names (any case), a prefix ending in *\n" +
		"(X-Crawl-*), or * for all. Nats-* and Winnow-* are never copied, nor Content-Type and\n" +
		"Content-Encoding, which describe the input's bytes (a dead letter keeps them).",
	"worker.pass_through": "Publish each document as its record without cleaning: the baseline of\n" +
		"`winnow bench`.",
	"worker.state": "Cross-document dedup state: memory (this process's handlers share it) or kv (every\n" +
		"replica shares it through a JetStream KV bucket, see shared).",
	"worker.shared":          "The KV bucket of state kv.",
	"worker.shared.bucket":   "Bucket name (created if missing).",
	"worker.shared.ttl":      "How long commits and claims live: the shared window in time.",
	"worker.shared.replicas": "Replicas of the bucket's stream.",
	"worker.shared.max_bytes": "Most bytes the bucket's stream holds (1GiB; KiB, MiB, GiB), the oldest\n" +
		"commits and claims going first when it is full. 0: the ttl alone bounds it,\n" +
		"and a limit set on the bucket itself is kept (a full bucket then pauses\n" +
		"intake, see outage).",
	"worker.outage": "When the output stream or the bucket does not answer or has no room: pause (hold\n" +
		"the documents, pull no more, probe until it answers) or retry (nak with backoff,\n" +
		"then dead-letter).",

	"pipeline":                       "The cleaning, in `winnow run` and `winnow clean`.",
	"pipeline.dedupe":                "Repeats inside a document.",
	"pipeline.dedupe.shingle_size":   "Words per shingle.",
	"pipeline.dedupe.near_threshold": "Shingle Jaccard similarity at which a block near-repeats an earlier one.",
	"pipeline.dedupe.near_min_words": "Fewest words of a block that may near-repeat; shorter ones repeat only exactly.",
	"pipeline.dedupe.max_postings":   "Earlier blocks one shingle points at in the near-repeat search (keeps it linear).",
	"pipeline.dedupe.max_near_words": "Most words of a block compared for near repeats; longer ones repeat only exactly.",
	"pipeline.dedupe.in_line": "Text repeated inside one line goes too: a run of 6+ words printed twice in a\n" +
		"row (a caption, a teaser), or 2+ whole sentences (8+ words) the line held\n" +
		"earlier (a notice shown twice on a page put on one line).",
	"pipeline.cross":                         "Cross-document dedup: duplicate documents, recurring blocks, quoted passages.",
	"pipeline.cross_options":                 "",
	"pipeline.cross_options.min_block_words": "Blocks of fewer words are not remembered or removed across documents.",
	"pipeline.cross_options.recurring_docs": "A block this many earlier documents hold does not count towards\n" +
		"document similarity (a widget, a trailer).",
	"pipeline.cross_options.boilerplate_docs": "A block more documents than this hold (trailer, footer) is nobody's\n" +
		"content: it makes no document a copy of the first to hold it.",
	"pipeline.cross_options.dup_jaccard": "A document is a duplicate at this Jaccard similarity of its own text with an\n" +
		"earlier one's,",
	"pipeline.cross_options.dup_containment":   "or with this share of its own text contained in the earlier one's.",
	"pipeline.cross_options.min_dup_shingles":  "Documents with fewer own shingles are not judged duplicates.",
	"pipeline.cross_options.quote_containment": "A quoted passage this contained in an earlier document is removed.",
	"pipeline.cross_options.memory": "Bounds of the in-memory state (with worker.state kv, of each replica's\n" +
		"copy of it).",
	"pipeline.cross_options.memory.max_docs":     "Window in documents: older ones are forgotten.",
	"pipeline.cross_options.memory.max_blocks":   "Most block fingerprints remembered (the oldest go first).",
	"pipeline.cross_options.memory.max_shingles": "Most sampled shingles remembered (the oldest go first).",
	"pipeline.cross_options.memory.max_age": "Also forget documents fetched longer than this before the newest\n" +
		"(by fetched_at), and the claims that made their exact copies duplicates.\n" +
		"0: by max_docs only.",
	"pipeline.moderate": "Moderation on or off altogether.",
	"pipeline.max_removals": "Most removals a record lists with their text and evidence (an example of each\n" +
		"reason and repeated block first); the rest are counted (removed_omitted). 0: all.",
	"pipeline.moderation": "The moderation policy. Actions: drop_block (remove the block), redact (cut the span),\n" +
		"flag (mark the document), reject (route it to the rejected subject), off.",
	"pipeline.moderation.promotional":         "Calls to action, shopping language, newsletter and subscription pitches.",
	"pipeline.moderation.promotional.enabled": "",
	"pipeline.moderation.promotional.block_ratio": "Share of a block's sentences that are pitches for the block to be\n" +
		"dropped, not redacted.",
	"pipeline.moderation.promotional.document_ratio": "Share of a document's lines that, once promotional, flags the document\n" +
		"instead of cutting them.",
	"pipeline.moderation.promotional.extra_phrases": "Pitch phrases added to the built-in ones.",
	"pipeline.moderation.spam":                      "Spam classifier (logistic regression trained on mail): flag or reject.",
	"pipeline.moderation.spam.enabled":              "",
	"pipeline.moderation.spam.action":               "",
	"pipeline.moderation.spam.threshold":            "Spam score threshold. 0: the model's own (chosen by cross-validation).",
	"pipeline.moderation.spam.model_file":           "A model of `winnow train-spam` in place of the built-in one.",
	"pipeline.moderation.spam.sources": "Judge only documents whose source is one of these (\"\": documents without\n" +
		"one). The model knows mail only: a stream mixing mail with other text names\n" +
		"its mail sources here.",
	"pipeline.moderation.pii":               "E-mail addresses, phone numbers, payment card numbers: redact, flag or off each.",
	"pipeline.moderation.pii.enabled":       "",
	"pipeline.moderation.pii.email":         "",
	"pipeline.moderation.pii.phone":         "",
	"pipeline.moderation.pii.card":          "",
	"pipeline.moderation.blocklist":         "Operator phrases, matched on normalised words.",
	"pipeline.moderation.blocklist.enabled": "",
	"pipeline.moderation.blocklist.action":  "drop_block, redact, flag or reject.",
	"pipeline.moderation.blocklist.phrases": "",
	"pipeline.moderation.blocklist.file":    "More phrases, one a line (# comments).",
	"pipeline.moderation.boilerplate": "Cookie and consent notices, legal lines, share and follow widgets. Off by default:\n" +
		"news pages use these words in body text.",
	"pipeline.moderation.boilerplate.enabled": "",
	"pipeline.moderation.boilerplate.action":  "drop_block or flag.",
}
