module github.com/winnow-dev/winnow

go 1.26.8

require (
	github.com/cespare/xxhash/v2 v2.3.0
	golang.org/x/text v0.44.0
	gopkg.in/yaml.v3 v3.0.1
)

require github.com/santhosh-tekuri/jsonschema/v6 v6.0.3 // indirect
