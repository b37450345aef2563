package nunjucks

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// tokenType is a kind of token; String gives the name syntax errors use.
type tokenType uint8

const (
	tokEOF tokenType = iota
	tokString

	tokData
	tokBlockStart
	tokBlockEnd
	tokVariableStart
	tokVariableEnd
	tokComment
	tokLeftParen
	tokRightParen
	tokLeftBracket
	tokRightBracket
	tokLeftCurly
	tokRightCurly
	tokOperator
	tokComma
	tokColon
	tokTilde
	tokPipe
	tokInt
	tokFloat
	tokBoolean
	tokNone
	tokSymbol
	tokRegex
)

var tokenNames = [...]string{tokEOF: "end of file", tokString: "string", tokData: "data", tokBlockStart: "block-start", tokBlockEnd: "block-end", tokVariableStart: "variable-start", tokVariableEnd: "variable-end", tokComment: "comment", tokLeftParen: "left-paren", tokRightParen: "right-paren", tokLeftBracket: "left-bracket", tokRightBracket: "right-bracket", tokLeftCurly: "left-curly", tokRightCurly: "right-curly", tokOperator: "operator", tokComma: "comma", tokColon: "colon", tokTilde: "tilde", tokPipe: "pipe", tokInt: "int", tokFloat: "float", tokBoolean: "boolean", tokNone: "none", tokSymbol: "symbol", tokRegex: "regex"}

func (t tokenType) String() string { return tokenNames[t] }

// token is one lexical token; line and col are 0-based like the lexer's
// counters, errors add one.
type token struct {
	typ       tokenType
	val       string // a regex literal is its body, NUL, its flags
	line, col int
}

const (
	delimChars = "()[]{}%*-+~/#,:|.<>=!"
	// wordBreakChars end a symbol or number: ASCII white space and the
	// delimiters (U+00A0 is checked separately).
	wordBreakChars = " \n\t\r" + delimChars
)

// tags are the delimiters of a template.
type tags struct {
	blockStart, blockEnd, varStart, varEnd, commentStart, commentEnd string
}

// tagSet is tags with the dashed variants precomputed, so the lexer does
// not build strings per token.
type tagSet struct {
	tags
	blockStartDash, blockEndDash, varStartDash, varEndDash string
}

// lexer splits a template into tokens on demand: the parser pulls them one
// by one because `{% raw %}` reads the source directly.
type lexer struct {
	src        string
	pos        int
	line, col  int
	inCode     bool
	tags       tagSet
	beginChars string
	trimBlocks bool
	lstrip     bool
}

func newLexer(src string, t tags, trimBlocks, lstrip bool) *lexer {
	return &lexer{
		src: src,
		tags: tagSet{tags: t,
			blockStartDash: t.blockStart + "-", blockEndDash: "-" + t.blockEnd,
			varStartDash: t.varStart + "-", varEndDash: "-" + t.varEnd},
		beginChars: t.blockStart[:1] + t.varStart[:1] + t.commentStart[:1] + t.commentEnd[:1],
		trimBlocks: trimBlocks,
		lstrip:     lstrip,
	}
}

func (l *lexer) finished() bool { return l.pos >= len(l.src) }

func (l *lexer) current() byte {
	if l.pos < len(l.src) {
		return l.src[l.pos]
	}
	return 0
}

// forward moves one byte, counting lines and (rune) columns.
func (l *lexer) forward() {
	c := l.src[l.pos]
	l.pos++
	switch {
	case c == '\n':
		l.line++
		l.col = 0
	case c < 0x80 || c >= 0xc0:
		l.col++
	}
}

// advanceTo moves to byte offset end, as repeated forward calls would.
func (l *lexer) advanceTo(end int) {
	seg := l.src[l.pos:end]
	if nl := strings.LastIndexByte(seg, '\n'); nl >= 0 {
		l.line += strings.Count(seg, "\n")
		l.col = utf8.RuneCountInString(seg[nl+1:])
	} else {
		l.col += utf8.RuneCountInString(seg)
	}
	l.pos = end
}

func (l *lexer) forwardN(n int) {
	for i := 0; i < n && l.pos < len(l.src); i++ {
		l.forward()
	}
}

func (l *lexer) matches(s string) bool { return strings.HasPrefix(l.src[l.pos:], s) }

func (l *lexer) extractString(s string) bool {
	if l.matches(s) {
		l.forwardN(len(s))
		return true
	}
	return false
}

// extractWhile consumes bytes in set (or not in set when until is true).
func (l *lexer) extractWhile(set string, until bool) string {
	start := l.pos
	if until {
		// Jump to the next byte in set, counting lines and columns in
		// bulk: template text is long and tags are rare.
		end := len(l.src)
		if i := strings.IndexAny(l.src[l.pos:], set); i >= 0 {
			end = l.pos + i
		}
		l.advanceTo(end)
		return l.src[start:l.pos]
	}
	for l.pos < len(l.src) {
		in := strings.IndexByte(set, l.src[l.pos]) >= 0
		if in == until {
			break
		}
		l.forward()
	}
	return l.src[start:l.pos]
}

func (l *lexer) tok(typ tokenType, val string, line, col int) token {
	return token{typ: typ, val: val, line: line, col: col}
}

var eof = token{typ: tokEOF}

// syntaxError is returned by the lexer and the parser.
func (l *lexer) errorf(line, col int, msg string) error {
	return &Error{Line: line + 1, Column: col + 1, Msg: msg}
}

// next returns the next token, or nil at the end of the input.
func (l *lexer) next() (token, error) {
	line, col := l.line, l.col
	if l.finished() {
		return eof, nil
	}
	if l.inCode {
		return l.nextCode()
	}
	for _, start := range [...]struct {
		s   string
		typ tokenType
	}{{l.tags.blockStartDash, tokBlockStart}, {l.tags.blockStart, tokBlockStart}, {l.tags.varStartDash, tokVariableStart}, {l.tags.varStart, tokVariableStart}} {
		if l.extractString(start.s) {
			l.inCode = true
			return l.tok(start.typ, start.s, line, col), nil
		}
	}
	inComment := false
	start := l.pos
	if l.matches(l.tags.commentStart) {
		inComment = true
		l.forwardN(len(l.tags.commentStart))
	}
	for {
		l.extractWhile(l.beginChars, true)
		if l.finished() {
			if inComment {
				return eof, l.errorf(line, col, "expected end of comment, got end of file")
			}
			break
		}
		if !inComment && (l.matches(l.tags.blockStart) || l.matches(l.tags.varStart) || l.matches(l.tags.commentStart)) {
			if l.lstrip && l.matches(l.tags.blockStart) && l.col > 0 {
				tok := l.src[start:l.pos]
				lastLine, ok := "", false
				if i := strings.LastIndexByte(tok, '\n'); i >= 0 {
					lastLine, ok = tok[i+1:], true
				} else if col == 0 {
					lastLine, ok = tok, true
				}
				if ok && lastLine != "" && strings.TrimLeftFunc(lastLine, jsSpace) == "" {
					tok = tok[:len(tok)-len(lastLine)]
					if tok == "" {
						return l.next()
					}
					return l.tok(tokData, tok, line, col), nil
				}
			}
			break
		}
		if l.matches(l.tags.commentEnd) {
			if !inComment {
				return eof, l.errorf(l.line, l.col, "unexpected end of comment")
			}
			l.forwardN(len(l.tags.commentEnd))
			break
		}
		l.forward()
	}
	typ := tokData
	if inComment {
		typ = tokComment
	}
	return l.tok(typ, l.src[start:l.pos], line, col), nil
}

var complexOps = map[string]bool{"==": true, "===": true, "!=": true, "!==": true, "<=": true, ">=": true, "//": true, "**": true}

func (l *lexer) nextCode() (token, error) {
	// White space between tokens is skipped here: the parser never needs
	// it.
	for l.pos < len(l.src) {
		if c := l.src[l.pos]; c == ' ' || c == '\n' || c == '\t' || c == '\r' {
			l.forward()
		} else if strings.HasPrefix(l.src[l.pos:], "\u00a0") {
			l.forwardN(2)
		} else {
			break
		}
	}
	line, col := l.line, l.col
	if l.finished() {
		return eof, nil
	}
	cur := l.current()
	if cur == '"' || cur == '\'' {
		return l.tok(tokString, l.parseString(cur), line, col), nil
	}
	for _, end := range [2]string{l.tags.blockEnd, l.tags.blockEndDash} {
		if l.extractString(end) {
			l.inCode = false
			if l.trimBlocks {
				if l.current() == '\n' {
					l.forward()
				} else if l.matches("\r\n") {
					l.forwardN(2)
				}
			}
			return l.tok(tokBlockEnd, end, line, col), nil
		}
	}
	for _, end := range [2]string{l.tags.varEnd, l.tags.varEndDash} {
		if l.extractString(end) {
			l.inCode = false
			return l.tok(tokVariableEnd, end, line, col), nil
		}
	}
	if cur == 'r' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '/' {
		l.forwardN(2)
		var body strings.Builder
		for !l.finished() {
			if l.current() == '/' && l.src[l.pos-1] != '\\' {
				l.forward()
				break
			}
			body.WriteByte(l.current())
			l.forward()
		}
		flags := l.extractWhile("gimy", false)
		return l.tok(tokRegex, body.String()+"\x00"+flags, line, col), nil
	}
	if strings.IndexByte(delimChars, cur) >= 0 {
		start := l.pos
		l.forward()
		if l.pos < len(l.src) && complexOps[l.src[start:l.pos+1]] {
			l.forward()
			if l.pos < len(l.src) && complexOps[l.src[start:l.pos+1]] {
				l.forward()
			}
		}
		op := l.src[start:l.pos]
		typ := tokOperator
		switch op {
		case "(":
			typ = tokLeftParen
		case ")":
			typ = tokRightParen
		case "[":
			typ = tokLeftBracket
		case "]":
			typ = tokRightBracket
		case "{":
			typ = tokLeftCurly
		case "}":
			typ = tokRightCurly
		case ",":
			typ = tokComma
		case ":":
			typ = tokColon
		case "~":
			typ = tokTilde
		case "|":
			typ = tokPipe
		}
		return l.tok(typ, op, line, col), nil
	}
	start := l.pos
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if strings.IndexByte(wordBreakChars, c) >= 0 || (c == 0xc2 && strings.HasPrefix(l.src[l.pos:], "\u00a0")) {
			break
		}
		l.forward()
	}
	word := l.src[start:l.pos]
	switch {
	case isDigits(word):
		if l.current() == '.' {
			l.forward()
			dec := l.extractWhile("0123456789", false)
			return l.tok(tokFloat, word+"."+dec, line, col), nil
		}
		return l.tok(tokInt, word, line, col), nil
	case word == "true" || word == "false":
		return l.tok(tokBoolean, word, line, col), nil
	case word == "none" || word == "null":
		return l.tok(tokNone, word, line, col), nil
	}
	return l.tok(tokSymbol, word, line, col), nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseString reads a quoted string; only \n, \t and \r are escapes, any
// other escaped character stands for itself.
func (l *lexer) parseString(delim byte) string {
	l.forward()
	var b strings.Builder
	for !l.finished() && l.current() != delim {
		c := l.current()
		if c == '\\' {
			l.forward()
			if l.finished() {
				break
			}
			switch l.current() {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(l.current())
			}
			l.forward()
			continue
		}
		b.WriteByte(c)
		l.forward()
	}
	if !l.finished() {
		l.forward()
	}
	return b.String()
}

var rawBlockRegexps = map[string]*regexp.Regexp{
	"raw":      regexp.MustCompile(`^([\s\S]*?)\{%\s*(raw|endraw)\s*%\}`),
	"verbatim": regexp.MustCompile(`^([\s\S]*?)\{%\s*(verbatim|endverbatim)\s*%\}`),
}

// extractRaw reads the body of a raw block up to its matching end tag
// (nested raw blocks count), and consumes the end tag.
func (l *lexer) extractRaw(tag string) string {
	re := rawBlockRegexps[tag]
	level := 1
	var b strings.Builder
	for {
		m := re.FindStringSubmatchIndex(l.src[l.pos:])
		if m == nil {
			break
		}
		all := l.src[l.pos : l.pos+m[1]]
		pre := l.src[l.pos+m[2] : l.pos+m[3]]
		name := l.src[l.pos+m[4] : l.pos+m[5]]
		if name == tag {
			level++
		} else {
			level--
		}
		l.forwardN(len(all))
		if level == 0 {
			b.WriteString(pre)
			break
		}
		b.WriteString(all)
	}
	return b.String()
}
