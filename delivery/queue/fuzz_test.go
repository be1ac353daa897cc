package queue

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzReadTrailer feeds arbitrary file contents to the trailer reader: it
// must refuse or accept without panicking or allocating beyond its bounds,
// and whatever it accepts must describe the file exactly.
func FuzzReadTrailer(f *testing.F) {
	env, _ := json.Marshal(&Envelope{MID: 3, Recipients: []string{"a@b"}})
	body := []byte("hello\r\n")
	nonce := []byte("0123456789abcdef")
	good := append(append(append(encodeHeader(nonce), body...), env...), encodeTrailer(int64(len(body)), env, 0, nonce)...)
	f.Add(good)
	f.Add([]byte(magic))
	f.Add(bytes.Repeat([]byte{0xff}, trailerLen))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, e, err := readTrailer(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		if e == nil || int64(headerLen)+tr.bodyLen+tr.envLen+int64(trailerLen) != int64(len(data)) {
			t.Fatalf("accepted inconsistent file: %+v", tr)
		}
	})
}
