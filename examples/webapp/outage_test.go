package main

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// cutProxy forwards TCP connections to target until Cut, which drops the
// open ones and refuses new ones until Restore.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.Cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			down := p.down
			p.mu.Unlock()
			if down {
				c.Close()
				continue
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *cutProxy) Restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// TestStoreOutage: while the Redis store is unreachable a signed-in page
// answers 503, never a redirect to the login, and the session is back
// once the store is.
func TestStoreOutage(t *testing.T) {
	t.Parallel()
	redisURL(t) // skips without Redis
	proxy := newCutProxy(t, os.Getenv("OIDCAUTH_REDIS_ADDR"))
	base := start(t, "--session-store", "redis://"+proxy.ln.Addr().String()+"/0")
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	if status, body := get(t, browser, base+"/me", nil); status != 200 || !strings.Contains(body, `"sub":"alice"`) {
		t.Fatalf("login: %d %s", status, body)
	}
	page := &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	nav := http.Header{"Sec-Fetch-Mode": {"navigate"}}
	proxy.Cut()
	for _, path := range []string{"/me", "/api/me", "/"} {
		if status, body := get(t, page, base+path, nav); status != http.StatusServiceUnavailable {
			t.Errorf("GET %s with the store down: %d %.80s, want 503", path, status, body)
		}
	}
	proxy.Restore()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := get(t, page, base+"/me", nav)
		if status == 200 && strings.Contains(body, `"sub":"alice"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the session did not come back with the store: %d %.80s", status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
