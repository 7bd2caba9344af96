package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// key names one benchmark at one GOMAXPROCS.
type key struct {
	name  string // without the -N suffix, e.g. "BenchmarkValidate/RS256/oidcauth"
	procs int
}

// results are the samples of every benchmark metric, in the order the
// benchmarks first appeared.
type results struct {
	order   []key
	samples map[key]map[string][]float64 // unit → one value per run
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-(\d+))?\s+(\d+)\s+(.+)$`)

// parseFiles reads Go benchmark output (the format of "go test -bench").
// Missing files are skipped.
func parseFiles(paths ...string) (*results, error) {
	r := &results{samples: map[key]map[string][]float64{}}
	for _, p := range paths {
		f, err := os.Open(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			r.add(sc.Text())
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	return r, nil
}

func (r *results) add(line string) {
	m := benchLine.FindStringSubmatch(line)
	if m == nil {
		return
	}
	k := key{name: m[1], procs: 1}
	if m[2] != "" {
		k.procs, _ = strconv.Atoi(m[2])
	}
	f := strings.Fields(m[4])
	if len(f)%2 != 0 {
		return
	}
	s, ok := r.samples[k]
	if !ok {
		s = map[string][]float64{}
		r.samples[k] = s
		r.order = append(r.order, k)
	}
	for i := 0; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			continue
		}
		s[f[i+1]] = append(s[f[i+1]], v)
	}
}

// median returns the median of the unit's samples of name at procs, and
// whether there were any.
func (r *results) median(name string, procs int, unit string) (float64, bool) {
	v := r.samples[key{name, procs}][unit]
	if len(v) == 0 {
		return 0, false
	}
	return median(v), true
}

// spread returns (max−min)/median of the unit's samples, as a fraction.
func (r *results) spread(name string, procs int, unit string) float64 {
	v := r.samples[key{name, procs}][unit]
	if len(v) < 2 {
		return 0
	}
	m := median(v)
	if m == 0 {
		return 0
	}
	return (slices.Max(v) - slices.Min(v)) / m
}

func (r *results) count(name string, procs int) int {
	return len(r.samples[key{name, procs}]["ns/op"])
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// children returns the distinct next path elements under prefix ("a/b/"),
// in order of first appearance.
func (r *results) children(prefix string) []string {
	var out []string
	for _, k := range r.order {
		rest, ok := strings.CutPrefix(k.name, prefix)
		if !ok {
			continue
		}
		c, _, _ := strings.Cut(rest, "/")
		if c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// readKV reads "key: value" lines.
func readKV(path string) map[string]string {
	out := map[string]string{}
	b, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if ok {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

// moduleVersions returns the required versions in a go.mod file.
func moduleVersions(path string) map[string]string {
	out := map[string]string{}
	b, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "require "))
		if len(f) >= 2 && strings.Contains(f[0], ".") && strings.HasPrefix(f[1], "v") {
			out[f[0]] = f[1]
		}
	}
	return out
}

// profile is a flat CPU profile: milliseconds per function.
type profile struct {
	total float64
	flat  map[string]float64
}

var pprofLine = regexp.MustCompile(`^\s*([\d.]+)ms\s+[\d.]+%\s+[\d.]+%\s+[\d.]+ms\s+[\d.]+%\s+(.+)$`)

// readProfile parses "go tool pprof -top -unit=ms" output.
func readProfile(path string) (*profile, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	p := &profile{flat: map[string]float64{}}
	for _, l := range strings.Split(string(b), "\n") {
		m := pprofLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		fn := strings.TrimSuffix(strings.TrimSpace(m[2]), " (inline)")
		p.flat[fn] += v
		p.total += v
	}
	return p, p.total > 0
}
