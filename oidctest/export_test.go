package oidctest

// CheckClientIDURL exports checkClientIDURL to the tests that compare it
// with oidcauth.CheckURL.
var CheckClientIDURL = checkClientIDURL

// RegisterBody exports the registration endpoint's parsing and checks for
// the fuzz test.
func (p *Provider) RegisterBody(body []byte) (map[string]any, error) {
	p.oauth.mu.Lock()
	p.oauth.initLocked()
	p.oauth.mu.Unlock()
	m, rerr := p.registerClient(body, &RegistrationSettings{MaxClients: 1 << 30})
	if rerr != nil {
		return nil, rerr
	}
	return m, nil
}

// CheckRedirectURI exports checkRedirectURI.
var CheckRedirectURI = checkRedirectURI
