// json.go - the SDK's own strict JSON: a parser that keeps object members in order, numbers as
// written and refuses duplicate keys, deep nesting and invalid UTF-8, and an encoder with
// exactly the protocol's escaping (docs/protocol.md "Encoding details"). encoding/json is not
// used because it accepts duplicate keys, escapes <, > and & and reorders map keys, so its
// bytes would differ from the C and Rust SDKs'.
package elastos

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxDepth is how deep containers may nest in one message, counting the envelope.
const MaxDepth = 32

// Kind is the type of a JSON Value.
type Kind int

// The JSON kinds.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

// Member is one member of a JSON object.
type Member struct {
	Key   string
	Value Value
}

// Value is a JSON value. Numbers keep their text exactly as written (Num); objects keep their
// members in order (Members). The zero Value is null.
type Value struct {
	Kind    Kind
	Bool    bool     // Bool
	Num     string   // Number: the literal's text
	Str     string   // String
	Items   []Value  // Array
	Members []Member // Object
}

// StringValue, NumberValue, BoolValue, ArrayValue and ObjectValue make Values.
func StringValue(s string) Value          { return Value{Kind: String, Str: s} }
func BoolValue(b bool) Value              { return Value{Kind: Bool, Bool: b} }
func ArrayValue(items ...Value) Value     { return Value{Kind: Array, Items: items} }
func ObjectValue(members ...Member) Value { return Value{Kind: Object, Members: members} }
func IntValue(n int64) Value              { return Value{Kind: Number, Num: strconv.FormatInt(n, 10)} }

// NumberValue is a number written as text; it fails unless text is a JSON number literal.
func NumberValue(text string) (Value, error) {
	p := parser{s: text}
	if err := p.number(); err != nil || p.i != len(text) {
		return Value{}, fmt.Errorf("%w: %q is not a JSON number", ErrInvalidArgument, text)
	}
	return Value{Kind: Number, Num: text}, nil
}

// Get returns the member named key of an object (the first: parsed objects have no
// duplicates), and whether there is one.
func (v Value) Get(key string) (Value, bool) {
	for _, m := range v.Members {
		if m.Key == key {
			return m.Value, true
		}
	}
	return Value{}, false
}

// Uint64 is the value of a number written as plain decimal digits in 0..2^64-1.
func (v Value) Uint64() (uint64, bool) {
	if v.Kind != Number || v.Num == "" || strings.Trim(v.Num, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(v.Num, 10, 64)
	return n, err == nil
}

// String is the compact encoding of v (what the SDK sends).
func (v Value) String() string {
	var b strings.Builder
	writeValue(&b, v)
	return b.String()
}

// depth is how deep containers nest in v (a scalar is 0).
func (v Value) depth() int {
	d := 0
	for _, it := range v.Items {
		if x := it.depth(); x > d {
			d = x
		}
	}
	for _, m := range v.Members {
		if x := m.Value.depth(); x > d {
			d = x
		}
	}
	if v.Kind == Array || v.Kind == Object {
		return d + 1
	}
	return 0
}

// ParseJSON parses one JSON text strictly: RFC 8259 syntax, valid UTF-8, no duplicate keys,
// containers at most MaxDepth deep, nothing but whitespace after the value.
func ParseJSON(text []byte) (Value, error) {
	if !utf8.Valid(text) {
		return Value{}, errors.New("invalid UTF-8")
	}
	p := parser{s: string(text)}
	v, err := p.value(0)
	if err == nil {
		p.ws()
		if p.i != len(p.s) {
			err = p.fail("trailing characters")
		}
	}
	return v, err
}

type parser struct {
	s string
	i int
}

func (p *parser) fail(what string) error { return fmt.Errorf("JSON: %s at byte %d", what, p.i) }

func (p *parser) ws() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *parser) lit(word string) bool {
	if strings.HasPrefix(p.s[p.i:], word) {
		p.i += len(word)
		return true
	}
	return false
}

func (p *parser) value(depth int) (Value, error) {
	p.ws()
	if p.i >= len(p.s) {
		return Value{}, p.fail("unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == '{' || c == '[':
		if depth+1 > MaxDepth {
			return Value{}, p.fail("nesting too deep")
		}
		if c == '{' {
			return p.object(depth + 1)
		}
		return p.array(depth + 1)
	case c == '"':
		s, err := p.str()
		return Value{Kind: String, Str: s}, err
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.i
		err := p.number()
		return Value{Kind: Number, Num: p.s[start:p.i]}, err
	case p.lit("true"):
		return Value{Kind: Bool, Bool: true}, nil
	case p.lit("false"):
		return Value{Kind: Bool}, nil
	case p.lit("null"):
		return Value{}, nil
	}
	return Value{}, p.fail("unexpected character")
}

func (p *parser) object(depth int) (Value, error) {
	p.i++ // {
	v := Value{Kind: Object, Members: []Member{}}
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return v, nil
	}
	seen := map[string]bool{}
	for {
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return v, p.fail("expected a key")
		}
		k, err := p.str()
		if err != nil {
			return v, err
		}
		if seen[k] {
			return v, p.fail("duplicate key")
		}
		seen[k] = true
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return v, p.fail("expected ':'")
		}
		p.i++
		m, err := p.value(depth)
		if err != nil {
			return v, err
		}
		v.Members = append(v.Members, Member{k, m})
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return v, nil
		}
		return v, p.fail("expected ',' or '}'")
	}
}

func (p *parser) array(depth int) (Value, error) {
	p.i++ // [
	v := Value{Kind: Array, Items: []Value{}}
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return v, nil
	}
	for {
		it, err := p.value(depth)
		if err != nil {
			return v, err
		}
		v.Items = append(v.Items, it)
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return v, nil
		}
		return v, p.fail("expected ',' or ']'")
	}
}

func (p *parser) digits() int {
	n := 0
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) number() error {
	if p.i < len(p.s) && p.s[p.i] == '-' {
		p.i++
	}
	start := p.i
	if n := p.digits(); n == 0 || (n > 1 && p.s[start] == '0') {
		return p.fail("bad number")
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if p.digits() == 0 {
			return p.fail("bad number")
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if p.digits() == 0 {
			return p.fail("bad number")
		}
	}
	return nil
}

func (p *parser) hex4() (rune, bool) {
	if p.i+4 > len(p.s) {
		return 0, false
	}
	n, err := strconv.ParseUint(p.s[p.i:p.i+4], 16, 32)
	if err != nil || strings.ContainsAny(p.s[p.i:p.i+4], "+-") {
		return 0, false
	}
	p.i += 4
	return rune(n), true
}

// str scans a string (p.s[p.i] is '"'); lone surrogates are refused.
func (p *parser) str() (string, error) {
	p.i++
	var b strings.Builder
	for {
		if p.i >= len(p.s) {
			return "", p.fail("unterminated string")
		}
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c < 0x20:
			return "", p.fail("control character in a string")
		case c != '\\':
			b.WriteByte(c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.s) {
			return "", p.fail("unterminated string")
		}
		e := p.s[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.fail("bad \\u escape")
			}
			if r >= 0xd800 && r < 0xdc00 {
				if !p.lit("\\u") {
					return "", p.fail("lone surrogate")
				}
				lo, ok := p.hex4()
				if !ok || lo < 0xdc00 || lo >= 0xe000 {
					return "", p.fail("lone surrogate")
				}
				r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
			} else if r >= 0xdc00 && r < 0xe000 {
				return "", p.fail("lone surrogate")
			}
			b.WriteRune(r)
		default:
			return "", p.fail("bad escape")
		}
	}
}

// writeString writes s quoted: exactly '"', '\\' and bytes below 0x20 escaped.
func writeString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&15])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}

// writeValue writes v compactly, members in order, numbers as written.
func writeValue(b *strings.Builder, v Value) {
	switch v.Kind {
	case Null:
		b.WriteString("null")
	case Bool:
		b.WriteString(strconv.FormatBool(v.Bool))
	case Number:
		b.WriteString(v.Num)
	case String:
		writeString(b, v.Str)
	case Array:
		b.WriteByte('[')
		for i, it := range v.Items {
			if i > 0 {
				b.WriteByte(',')
			}
			writeValue(b, it)
		}
		b.WriteByte(']')
	case Object:
		b.WriteByte('{')
		for i, m := range v.Members {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, m.Key)
			b.WriteByte(':')
			writeValue(b, m.Value)
		}
		b.WriteByte('}')
	}
}
