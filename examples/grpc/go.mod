module github.com/oidcauth/oidcauth/examples/grpc

go 1.25.0

require (
	connectrpc.com/connect v1.21.0
	github.com/oidcauth/oidcauth v0.0.0
	github.com/oidcauth/oidcauth/connect v0.0.0
	github.com/oidcauth/oidcauth/grpc v0.0.0
	google.golang.org/grpc v1.84.0
	google.golang.org/protobuf v1.36.11
)

require (
	github.com/decred/dcrd/dcrec/secp256k1/v4 v4.4.1 // indirect
	github.com/goccy/go-json v0.11.2 // indirect
	github.com/lestrrat-go/blackmagic v1.0.4 // indirect
	github.com/lestrrat-go/httpcc v1.0.1 // indirect
	github.com/lestrrat-go/httprc/v3 v3.0.6 // indirect
	github.com/lestrrat-go/jwx/v3 v3.4.0 // indirect
	github.com/lestrrat-go/option/v2 v2.0.0 // indirect
	github.com/segmentio/asm v1.2.1 // indirect
	github.com/valyala/fastjson v1.6.10 // indirect
	golang.org/x/net v0.57.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.40.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260706201446-f0a921348800 // indirect
)

replace (
	github.com/oidcauth/oidcauth => ../..
	github.com/oidcauth/oidcauth/connect => ../../connect
	github.com/oidcauth/oidcauth/grpc => ../../grpc
)
