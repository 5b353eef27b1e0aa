// Command go-config-oracle loads a config file with the Go spiffe-helper's own config package
// (v0.11.0: hashicorp/hcl v1, then its validation) and prints the result as JSON, or the error,
// so the tests can compare this helper's reading of a Go helper config with the Go helper's.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/sirupsen/logrus"
	"github.com/spiffe/spiffe-helper/cmd/spiffe-helper/config"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go-config-oracle <config file>")
		os.Exit(2)
	}
	c, err := config.ParseConfig(os.Args[1], true, "daemon-mode")
	if err == nil {
		log := logrus.New()
		log.SetOutput(io.Discard)
		err = c.ValidateConfig(log)
	}
	out := map[string]any{}
	if err != nil {
		out["error"] = err.Error()
	} else {
		c.UnusedKeyPositions = nil
		out["config"] = c
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		panic(err)
	}
}
