// Command vulnfilter reads govulncheck -format json and summarises the
// findings that reach our code (a call trace, not just an import): it
// exits 1 when one is in a required module, and lists standard-library
// ones without failing.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

type message struct {
	Finding *struct {
		OSV          string `json:"osv"`
		FixedVersion string `json:"fixed_version"`
		Trace        []struct {
			Module   string `json:"module"`
			Version  string `json:"version"`
			Package  string `json:"package"`
			Function string `json:"function"`
		} `json:"trace"`
	} `json:"finding"`
}

func main() {
	dec := json.NewDecoder(os.Stdin)
	type key struct{ osv, module, version, fixed string }
	called := map[key]bool{}
	messages := 0
	for {
		var m message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			fmt.Fprintln(os.Stderr, "vulnfilter: read govulncheck output:", err)
			os.Exit(2)
		}
		messages++
		f := m.Finding
		if f == nil || len(f.Trace) == 0 || f.Trace[0].Function == "" {
			continue // imported or required, never called
		}
		called[key{f.OSV, f.Trace[0].Module, f.Trace[0].Version, f.FixedVersion}] = true
	}
	if messages == 0 {
		fmt.Fprintln(os.Stderr, "vulnfilter: govulncheck produced no output (did it fail to load the packages?)")
		os.Exit(2)
	}
	var std, mods []key
	for k := range called {
		if k.module == "stdlib" {
			std = append(std, k)
		} else {
			mods = append(mods, k)
		}
	}
	less := func(s []key) { sort.Slice(s, func(i, j int) bool { return s[i].osv < s[j].osv }) }
	less(std)
	less(mods)
	for _, k := range std {
		fmt.Printf("standard library  %s  in go %s, fixed in %s\n", k.osv, k.version, k.fixed)
	}
	for _, k := range mods {
		fmt.Printf("MODULE            %s  in %s@%s, fixed in %s\n", k.osv, k.module, k.version, k.fixed)
	}
	fmt.Printf("vulnerabilities our code reaches: %d in required modules, %d in the standard library\n", len(mods), len(std))
	if len(mods) > 0 {
		os.Exit(1)
	}
}
