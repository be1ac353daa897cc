package shell

import (
	"errors"
	"strings"
)

// Split breaks a command line into words the way a POSIX shell does, without
// expansions: words are separated by blanks; '...' quotes everything
// literally; "..." quotes everything but \" and \\; outside quotes a
// backslash takes the next character literally. Quoted parts next to other
// text join it (a"b c" is one word), and "" is an empty word. Inside double
// quotes any other backslash stays, so a grep pattern like "\d+" survives.
//
// Errors carry the appliance's generic "Invalid arguments when processing:"
// text, so they can be printed to the user as they are.
func Split(line string) ([]string, error) {
	var (
		words  []string
		cur    strings.Builder
		inWord bool // cur holds a word, possibly empty ("")
		i      int
	)
	for i < len(line) {
		c := line[i]
		switch {
		case isBlank(c):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
			i++
		case c == '\\':
			if i+1 >= len(line) {
				return nil, splitError("a backslash at the end of the line escapes nothing.")
			}
			cur.WriteByte(line[i+1])
			inWord = true
			i += 2
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, splitError("unterminated ' quote.")
			}
			cur.WriteString(line[i+1 : i+1+end])
			inWord = true
			i += end + 2
		case c == '"':
			i++
			closed := false
			for i < len(line) {
				d := line[i]
				if d == '"' {
					closed = true
					i++
					break
				}
				if d == '\\' && i+1 < len(line) && (line[i+1] == '"' || line[i+1] == '\\') {
					cur.WriteByte(line[i+1])
					i += 2
					continue
				}
				cur.WriteByte(d)
				i++
			}
			if !closed {
				return nil, splitError(`unterminated " quote.`)
			}
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
			i++
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func splitError(reason string) error {
	return errors.New("Invalid arguments when processing: " + reason)
}
