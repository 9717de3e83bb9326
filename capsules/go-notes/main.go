// go-notes - a small notes app on the runtime's storage, through capabilities, written with
// the Go guest SDK (guest/go). The same source builds as a wasm capsule (GOOS=wasip1
// GOARCH=wasm; the channel is the elastos.call import) and as a vm capsule (CGO_ENABLED=0
// GOOS=linux; the channel is the virtio-console port):
//
//	notes add TEXT...   append a line to localhost://storage/notes.txt (asks for write + read)
//	notes list          print the notes (asks for read)
//	notes clear         delete the notes file (asks for delete)
//
// Every access goes through a capability token from the runtime; whether a request is granted
// is up to the operator (elastos run --grant 'localhost://storage/*:write' ...) and the shell.
// A denied capability prints a clear message and exits 1.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	elastos "elastos-guest"
)

const notesPath = "localhost://storage/notes.txt"

// deniedError is a capability the runtime refused, with what to do about it.
type deniedError struct {
	action string
	err    error
}

func (d *deniedError) Error() string {
	var re *elastos.RuntimeError
	why := d.err.Error()
	if errors.As(d.err, &re) {
		why = re.Message
	}
	return fmt.Sprintf("permission denied: may not %s %s\nnotes: the runtime said: %s\n"+
		"notes: allow it with: elastos run --grant 'localhost://storage/*:%s' ...", d.action, notesPath, why, d.action)
}

// capability is a token for action on the notes file.
func capability(rt *elastos.RuntimeClient, action string) (string, error) {
	t, err := rt.RequestCapability(notesPath, action, elastos.CapabilityConstraints{})
	if errors.Is(err, elastos.ErrDenied) {
		return "", &deniedError{action, err}
	}
	return t.Token, err
}

// readNotes is the notes file's contents; empty when there is none yet.
func readNotes(rt *elastos.RuntimeClient, token string) (string, error) {
	data, err := rt.StorageRead(token, notesPath)
	if errors.Is(err, elastos.ErrNotFound) {
		return "", nil
	}
	return string(data), err
}

func add(rt *elastos.RuntimeClient, text string) error {
	write, err := capability(rt, "write")
	if err != nil {
		return err
	}
	read, err := capability(rt, "read")
	if err != nil {
		return err
	}
	notes, err := readNotes(rt, read)
	if err != nil {
		return err
	}
	if notes != "" && !strings.HasSuffix(notes, "\n") {
		notes += "\n"
	}
	notes += strings.NewReplacer("\n", " ", "\r", " ").Replace(text) + "\n" // one note per line
	if err := rt.StorageWrite(write, notesPath, []byte(notes)); err != nil {
		return err
	}
	fmt.Printf("added note %d\n", strings.Count(notes, "\n"))
	return nil
}

func list(rt *elastos.RuntimeClient) error {
	read, err := capability(rt, "read")
	if err != nil {
		return err
	}
	notes, err := readNotes(rt, read)
	if err != nil {
		return err
	}
	if notes == "" {
		fmt.Println("no notes yet")
	}
	for i, line := range strings.Split(strings.TrimSuffix(notes, "\n"), "\n") {
		if notes != "" {
			fmt.Printf("%d. %s\n", i+1, line)
		}
	}
	return nil
}

func clear(rt *elastos.RuntimeClient) error {
	del, err := capability(rt, "delete")
	if err != nil {
		return err
	}
	switch err := rt.StorageDelete(del, notesPath); {
	case errors.Is(err, elastos.ErrNotFound):
		fmt.Println("no notes to clear")
	case err != nil:
		return err
	default:
		fmt.Println("notes cleared")
	}
	return nil
}

func main() {
	if _, ok := elastos.CapsuleInfoFromEnv(); !ok {
		fmt.Fprintln(os.Stderr, "notes: not running as an elastos capsule")
		os.Exit(2)
	}
	args := os.Args[1:]
	if !(len(args) >= 2 && args[0] == "add") && !(len(args) == 1 && (args[0] == "list" || args[0] == "clear")) {
		fmt.Fprintln(os.Stderr, "usage: notes add TEXT... | notes list | notes clear")
		os.Exit(2)
	}
	rt, err := elastos.Open()
	if err == nil {
		switch args[0] {
		case "add":
			err = add(rt, strings.Join(args[1:], " "))
		case "list":
			err = list(rt)
		default:
			err = clear(rt)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "notes: %v\n", err)
		os.Exit(1)
	}
}
