package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Only the two JWT algorithms Backstage uses for these tokens are supported:
// ES256 for user tokens and HS256 for legacy external-access tokens. Anything
// else is refused, which also rules out the "alg: none" family of attacks.

var b64 = base64.RawURLEncoding

type jwtHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
	Kid string `json:"kid,omitempty"`
}

// jwtParts is a decoded but unverified token.
type jwtParts struct {
	header       jwtHeader
	claims       map[string]any
	signingInput string
	signature    []byte
}

var errNotJWT = errors.New("not a JWT")

func parseJWT(token string) (*jwtParts, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errNotJWT
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, errNotJWT
	}
	cb, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, errNotJWT
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, errNotJWT
	}
	var p jwtParts
	if err := json.Unmarshal(hb, &p.header); err != nil {
		return nil, errNotJWT
	}
	if err := json.Unmarshal(cb, &p.claims); err != nil {
		return nil, errNotJWT
	}
	p.signingInput = parts[0] + "." + parts[1]
	p.signature = sig
	return &p, nil
}

func signES256(key *ecdsa.PrivateKey, header jwtHeader, claims any) (string, error) {
	input, err := signingInput(header, claims)
	if err != nil {
		return "", err
	}
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64.EncodeToString(sig), nil
}

func verifyES256(pub *ecdsa.PublicKey, p *jwtParts) bool {
	if len(p.signature) != 64 {
		return false
	}
	digest := sha256.Sum256([]byte(p.signingInput))
	r := new(big.Int).SetBytes(p.signature[:32])
	s := new(big.Int).SetBytes(p.signature[32:])
	return ecdsa.Verify(pub, digest[:], r, s)
}

func verifyHS256(secret []byte, p *jwtParts) bool {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(p.signingInput))
	return hmac.Equal(mac.Sum(nil), p.signature)
}

func signingInput(header jwtHeader, claims any) (string, error) {
	hb, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return b64.EncodeToString(hb) + "." + b64.EncodeToString(cb), nil
}

// jwk is the public half of an ES256 key in JSON Web Key form.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

func publicJWK(kid string, pub *ecdsa.PublicKey) jwk {
	// Bytes is the uncompressed point: 0x04 || X || Y, 32 bytes each on P-256.
	point, _ := pub.Bytes()
	return jwk{Kty: "EC", Crv: "P-256", X: b64.EncodeToString(point[1:33]), Y: b64.EncodeToString(point[33:65]), Kid: kid, Alg: "ES256", Use: "sig"}
}

func (k jwk) publicKey() (*ecdsa.PublicKey, error) {
	if k.Kty != "EC" || k.Crv != "P-256" {
		return nil, fmt.Errorf("unsupported key type %s/%s", k.Kty, k.Crv)
	}
	x, err := b64.DecodeString(k.X)
	if err != nil || len(x) != 32 {
		return nil, errors.New("invalid x coordinate")
	}
	y, err := b64.DecodeString(k.Y)
	if err != nil || len(y) != 32 {
		return nil, errors.New("invalid y coordinate")
	}
	// ParseUncompressedPublicKey also checks that the point is on the curve.
	return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
}
