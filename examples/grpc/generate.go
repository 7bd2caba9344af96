package main

// Regenerate gen/ from proto/ (protoc from Debian's protobuf-compiler
// 3.21.12; the plugins pinned here, installed with go install):
//
//	apt-get install protobuf-compiler
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.11
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//	go install connectrpc.com/connect/cmd/protoc-gen-connect-go@v1.21.0
//	go generate .
//
//go:generate protoc -I proto --go_out=gen --go_opt=paths=source_relative --go-grpc_out=gen --go-grpc_opt=paths=source_relative --connect-go_out=gen --connect-go_opt=paths=source_relative proto/oidcauth/example/v1/greeter.proto
