package htmlreport_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heisen-dev/heisen/analyze"
	"github.com/heisen-dev/heisen/analyze/htmlreport"
	"github.com/heisen-dev/heisen/internal/testcap"
	"github.com/heisen-dev/heisen/trail"
	"golang.org/x/tools/txtar"
)

// report analyses the stress workers' trail of analyze's testdata (two
// writers on one clock-named temp file) and writes its HTML report.
func report(t *testing.T) string {
	t.Helper()
	ar, err := txtar.ParseFile("../testdata/minimal-stress.txtar")
	if err != nil {
		t.Fatal(err)
	}
	var data []byte
	for _, f := range ar.Files {
		if f.Name == "stress.trail" {
			data = f.Data
		}
	}
	return reportOf(t, data, 2)
}

// reportOf analyses the trail data, checks it has groups finding groups,
// and writes its HTML report.
func reportOf(t *testing.T, data []byte, groups int) string {
	t.Helper()
	rep, err := analyze.Run(trail.NewReader(bytes.NewReader(data), "stress.trail"), analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Groups) != groups {
		t.Fatalf("%d finding groups in the trail, want %d", len(rep.Groups), groups)
	}
	var b bytes.Buffer
	if err := htmlreport.Write(&b, rep, htmlreport.Options{Trails: []string{"stress.trail"}}); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// threeRaces is a trail of the stress workers' race three times over, in
// three seconds, each time by two other processes: two groups
// (temp-collision, torn-rename) of three examples each, and one
// unsynced-rename for the renames of written files.
func threeRaces() []byte {
	var b bytes.Buffer
	for k := range 3 {
		a, c := 31+2*k, 32+2*k
		name := fmt.Sprintf("/s/target.%d.tmp", 1764072000+k)
		at := func(ms int) string { return fmt.Sprintf("2025-11-25T12:00:%02d.%03d000000Z", k, ms) }
		fmt.Fprintf(&b, `{"ts":%q,"pid":%d,"tid":%d,"comm":"worker","op":"open","path":%q,"fd":7,"flags":"O_WRONLY|O_CREAT|O_TRUNC","dev":2049,"ino":%d,"ret":7,"src":"stress"}`+"\n", at(100), a, a, name, 900+k)
		fmt.Fprintf(&b, `{"ts":%q,"pid":%d,"tid":%d,"comm":"worker","op":"open","path":%q,"fd":7,"flags":"O_WRONLY|O_CREAT|O_TRUNC","dev":2049,"ino":%d,"ret":7,"src":"stress"}`+"\n", at(150), c, c, name, 900+k)
		fmt.Fprintf(&b, `{"ts":%q,"pid":%d,"tid":%d,"comm":"worker","op":"write","path":%q,"fd":7,"dev":2049,"ino":%d,"off":0,"len":4096,"ret":4096,"src":"stress"}`+"\n", at(160), a, a, name, 900+k)
		fmt.Fprintf(&b, `{"ts":%q,"pid":%d,"tid":%d,"comm":"worker","op":"close","path":%q,"fd":7,"ret":0,"src":"stress"}`+"\n", at(200), a, a, name)
		fmt.Fprintf(&b, `{"ts":%q,"pid":%d,"tid":%d,"comm":"worker","op":"rename","path":%q,"to":"/s/target","ret":0,"src":"stress"}`+"\n", at(210), a, a, name)
		fmt.Fprintf(&b, `{"ts":%q,"pid":%d,"tid":%d,"comm":"worker","op":"close","path":%q,"fd":7,"ret":0,"src":"stress"}`+"\n", at(250), c, c, name)
	}
	return b.Bytes()
}

// TestSelfContained: nothing in the report points off the file.
func TestSelfContained(t *testing.T) {
	b, err := os.ReadFile(report(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{`(?i)https?:`, `(?i)<link\b`, `(?i)\bsrc=`, `(?i)@import`, `(?i)url\((?:[^#)]|$)`} {
		if m := regexp.MustCompile(re).Find(b); m != nil {
			t.Errorf("the report refers to something outside it (%q matches %q)", re, m)
		}
	}
	// Every link inside the report has its target.
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`\bid="([^"]+)"`).FindAllSubmatch(b, -1) {
		if ids[string(m[1])] {
			t.Errorf("id %q is used twice", m[1])
		}
		ids[string(m[1])] = true
	}
	for _, m := range regexp.MustCompile(`(?:href="#|url\(#)([^")]+)`).FindAllSubmatch(b, -1) {
		if !ids[string(m[1])] {
			t.Errorf("link to #%s, which is not in the report", m[1])
		}
	}
}

// chromium returns a function that runs headless Chromium on the page
// name with the given arguments and returns its standard output.
func chromium(t *testing.T, name string) func(args ...string) []byte {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		testcap.Missing(t, "chromium (Debian package chromium; .ci/run installs it)", err)
	}
	return func(args ...string) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
			"--user-data-dir=" + t.TempDir()}, args...)
		cmd := exec.CommandContext(ctx, chromium, append(args, "file://"+name)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
		}
		return out
	}
}

// TestChromium loads the report in headless Chromium, checks the DOM it
// built (groups, lanes, bars, the overlap, marks linked to evidence lines
// both ways) and saves a screenshot at 1280×800.
func TestChromium(t *testing.T) {
	name := report(t)
	run := chromium(t, name)
	dom := string(run("--dump-dom"))
	count := func(re string) int { return len(regexp.MustCompile(re).FindAllString(dom, -1)) }
	for _, c := range []struct {
		what string
		re   string
		want int
	}{
		{"finding groups", `<section class="group error"`, 2},
		{"lanes (2 processes in each group)", `<g class="lane">`, 4},
		{"window bars", `<rect class="bar[ "]`, 4},
		{"overlaps (the race)", `<rect class="overlap"`, 2},
		{"marks linked to evidence", `<a href="#g\d-e\d+" class="mark`, 7},
		{"evidence lines linked to marks", `<li id="g\d-e\d+" data-ref="g\d-m\d+"><a href="#g\d-m\d+">stress.trail:\d+</a>`, 7},
	} {
		if n := count(c.re); n != c.want {
			t.Errorf("the DOM has %d %s, want %d", n, c.what, c.want)
		}
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}
	shot := filepath.Join(t.TempDir(), "report.png")
	run("--window-size=1280,800", "--screenshot="+shot, "--hide-scrollbars")
	png, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v", err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) || len(png) < 10_000 {
		t.Errorf("screenshot %s is not a rendered page (%d bytes)", shot, len(png))
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))

	// Printable: the print stylesheet lays it out on pages.
	pdf := filepath.Join(t.TempDir(), "report.pdf")
	run("--no-pdf-header-footer", "--print-to-pdf="+pdf)
	b, err := os.ReadFile(pdf)
	if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("chromium printed no PDF: %v", err)
	}
	// The page tree's /Count is the number of pages.
	m := regexp.MustCompile(`/Count (\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("the PDF has no page count")
	}
	if pages := string(m[1]); pages != "1" && pages != "2" {
		t.Errorf("the report of 2 groups prints on %s pages, want 1 or 2", pages)
	}
}

// probe, added to a copy of a report, writes into the page which examples
// of each group Chromium displays: on load, after a click on the second
// example's label of the first group, and with the print stylesheet's
// rules applied to the screen.
const probe = `<script>
(function () {
  var shown = function () {
    return Array.from(document.querySelectorAll('section.group')).map(function (g) {
      return Array.from(g.querySelectorAll('div.example')).map(function (e) {
        return getComputedStyle(e).display === 'none' ? '0' : '1';
      }).join('');
    }).join(' ');
  };
  var out = ['screen ' + shown()];
  document.querySelector('label[for="g1-x2-pick"]').click();
  out.push('picked ' + shown());
  var css = '';
  for (const sheet of document.styleSheets) {
    for (const r of sheet.cssRules) {
      if (r.media && r.media.mediaText === 'print') { for (const x of r.cssRules) { css += x.cssText + '\n'; } }
    }
  }
  var st = document.createElement('style');
  st.textContent = css;
  document.head.appendChild(st);
  out.push('print ' + shown());
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = out.join('\n');
  document.body.appendChild(pre);
})();
</script>
`

// TestChromiumExamples: a group with several examples draws a timeline for
// each; the screen shows one at a time, picked with a selector, and print
// shows them all.
func TestChromiumExamples(t *testing.T) {
	name := reportOf(t, threeRaces(), 3)
	page, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	probed := filepath.Join(t.TempDir(), "probed.html")
	if err := os.WriteFile(probed, bytes.Replace(page, []byte("</body>"), []byte(probe+"</body>"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := string(chromium(t, probed)("--dump-dom"))
	for re, want := range map[string]int{
		`<svg class="timeline"`:                       7,
		`<div class="example" id="g\d(-x\d)?-ex">`:    7,
		`<input type="radio" class="pick"`:            6,
		`<g class="lane"><line`:                       14,
		`<rect class="overlap"`:                       6,
		`<a href="#g1-x3-e\d+" class="mark write"`:    1,
		`<text class="lane-comm" [^>]*>worker</text>`: 14,
	} {
		if n := len(regexp.MustCompile(re).FindAllString(dom, -1)); n != want {
			t.Errorf("the DOM has %d of %s, want %d", n, re, want)
		}
	}
	m := regexp.MustCompile(`(?s)<pre id="probe">(.*?)</pre>`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the probe wrote nothing; DOM:\n%s", dom)
	}
	if want := "screen 100 100 1\npicked 010 100 1\nprint 111 111 1"; m[1] != want {
		t.Errorf("examples displayed (one digit per example, groups apart):\n%s\nwant\n%s", m[1], want)
	}
	shot := filepath.Join(t.TempDir(), "examples.png")
	chromium(t, name)("--window-size=1280,800", "--screenshot="+shot, "--hide-scrollbars")
	t.Logf("screenshot: %s", shot)
}
