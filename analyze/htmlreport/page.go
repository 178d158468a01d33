package htmlreport

// pageHTML is the report's template: everything inline, nothing fetched.
const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>heisen analyze report</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; max-width: 1240px; color: #222; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 0 0 6px; }
table.summary { border-collapse: collapse; margin: 8px 0 16px; }
table.summary td, table.summary th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
.group { border: 1px solid #ccc; border-radius: 4px; padding: 12px; margin: 0 0 16px; }
.example { break-inside: avoid; }
h2, .group > .meta, .picker { break-after: avoid; }
.error h2 { color: #b00020; }
.warning h2 { color: #8a5a00; }
.meta, .note { color: #555; }
svg.timeline { display: block; width: 100%; height: auto; background: #fafafa; border: 1px solid #eee; }
ol.evidence { margin: 8px 0 0; padding-left: 28px; font: 12px/1.5 ui-monospace, monospace; overflow-wrap: anywhere; }
.examples > input.pick { position: absolute; opacity: 0; }
.examples.multi > div.example { display: none; }
.examples > input.pick:nth-of-type(1):checked ~ div.example:nth-of-type(1),
.examples > input.pick:nth-of-type(2):checked ~ div.example:nth-of-type(2),
.examples > input.pick:nth-of-type(3):checked ~ div.example:nth-of-type(3) { display: block; }
.picker { margin: 0 0 8px; }
.picker label { display: inline-block; border: 1px solid #999; border-radius: 3px; padding: 0 10px; margin-left: 4px; cursor: pointer; }
.examples > input.pick:nth-of-type(1):checked ~ p.picker label:nth-of-type(1),
.examples > input.pick:nth-of-type(2):checked ~ p.picker label:nth-of-type(2),
.examples > input.pick:nth-of-type(3):checked ~ p.picker label:nth-of-type(3) { background: #333; color: #fff; }
.examples > input.pick:focus-visible ~ p.picker { outline: 2px solid #3d6fb4; }
.ex-head { display: none; font-weight: 600; margin: 0 0 4px; }
ol.evidence li:target, ol.evidence li.hot { background: #ffe58a; }
.lane-line { stroke: #ddd; }
.lane-label { font: 13px ui-monospace, monospace; fill: #333; }
.lane-comm { font: 11px ui-monospace, monospace; fill: #666; }
.axis line { stroke: #999; }
.axis text { font: 11px ui-monospace, monospace; fill: #555; }
.bar { fill: #7aa6e0; stroke: #3d6fb4; }
.bar-tail { stroke: #3d6fb4; stroke-dasharray: 4 3; }
.bar-label { font: 12px ui-monospace, monospace; fill: #102a4c; pointer-events: none; }
.overlap { fill: #e0303040; stroke: #d00; stroke-width: 1.5; }
.overlap-label { font: 11px system-ui, sans-serif; fill: #b00020; }
.mark line, .mark path { stroke: #222; stroke-width: 2; }
.mark.write line { stroke: #2b7a0b; }
.mark.fsync line, .mark.fdatasync line { stroke: #7b2cbf; stroke-width: 3; }
.mark.rename path { stroke: #c05600; fill: none; }
.mark text { font: 12px ui-monospace, monospace; fill: #c05600; }
.mark:target line, .mark:target path, .mark.hot line, .mark.hot path { stroke: #ff00aa; stroke-width: 4; }
.legend { font-size: 12px; color: #555; margin: 4px 0 0; }
@media print {
  body { margin: 0; } .group { border-color: #999; } a { color: inherit; text-decoration: none; }
  .picker, .examples > input.pick { display: none; }
  .examples.multi > div.example { display: block; margin-top: 12px; }
  .ex-head { display: block; }
}
</style>
</head>
<body>
<h1>heisen analyze</h1>
<p class="meta">{{range $i, $t := .Trails}}{{if $i}}, {{end}}{{$t}}{{end}} · {{.Events}} events{{if .Start}} · {{.Start}} to {{.End}} UTC{{end}}</p>
{{if .Groups}}
<table class="summary" id="summary">
<tr><th>kind</th><th>severity</th><th>groups</th><th>occurrences</th></tr>
{{range .Kinds}}<tr><td>{{.Kind}}</td><td>{{.Severity}}</td><td>{{.Groups}}</td><td>{{.Count}}</td></tr>
{{end}}</table>
{{else}}<p id="summary">No findings.</p>
{{end}}
{{range .Groups}}{{$g := .}}
<section class="group {{.Severity}}" id="{{.ID}}" data-kind="{{.Kind}}">
<h2>{{.Severity}} {{.Name}}</h2>
<p class="meta">{{.Findings}} finding(s), {{.Count}} occurrence(s); pids {{range $i, $p := .PIDs}}{{if $i}}, {{end}}{{$p}}{{end}}</p>
<div class="examples{{if gt (len .Examples) 1}} multi{{end}}">
{{if gt (len .Examples) 1}}{{range .Examples}}<input type="radio" class="pick" name="{{$g.ID}}-pick" id="{{.ID}}-pick" aria-label="example {{.N}}"{{if eq .N 1}} checked{{end}}>
{{end}}<p class="picker">Example{{range .Examples}}<label for="{{.ID}}-pick">{{.N}}</label>{{end}} of the group's {{$g.Findings}} finding(s)</p>
{{end}}{{range .Examples}}<div class="example" id="{{.ID}}-ex">
{{if gt (len $g.Examples) 1}}<p class="ex-head">Example {{.N}}</p>
{{end}}<p>{{.Message}}</p>
{{if .Note}}<p class="note">{{.Note}}</p>{{end}}
{{with .Timeline}}{{$tl := .}}
<svg class="timeline" viewBox="0 0 {{f .Width}} {{f .Height}}" role="img" aria-label="timeline of the example's evidence">
<defs>
<marker id="{{$tl.GID}}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#c05600"/></marker>
<linearGradient id="{{$tl.GID}}-fade"><stop offset="0" stop-color="#7aa6e0"/><stop offset="1" stop-color="#7aa6e0" stop-opacity="0.15"/></linearGradient>
</defs>
{{range .Lanes}}<g class="lane"><line class="lane-line" x1="0" x2="{{f $tl.Width}}" y1="{{f .Y}}" y2="{{f .Y}}"/><text class="lane-label" x="6" y="{{f .Y}}" dy="20">{{.Label}}</text>{{if .Comm}}<text class="lane-comm" x="6" y="{{f .Y}}" dy="35">{{.Comm}}</text>{{end}}</g>
{{end}}<g class="axis"><line x1="0" x2="{{f $tl.Width}}" y1="{{f .AxisY}}" y2="{{f .AxisY}}"/>{{range .Ticks}}<line x1="{{f .X}}" x2="{{f .X}}" y1="{{f .Y}}" y2="{{f .Y2}}"/><text x="{{f .X}}" y="{{f .Y2}}" dy="12" text-anchor="middle">{{.Label}}</text>{{end}}</g>
{{range .Overlaps}}<rect class="overlap" x="{{f .X}}" y="{{f .Y}}" width="{{f .W}}" height="{{f .H}}"><title>windows of two processes on one name overlap: the race</title></rect><text class="overlap-label" x="{{f .X}}" dx="2" y="{{f .Y}}" dy="-3">both open: the race</text>
{{end}}{{range .Bars}}<g class="bar-group"><rect class="bar{{if .Open}} open-ended{{end}}" x="{{f .X}}" y="{{f .Y}}" width="{{f .W}}" height="{{f .H}}" rx="3"/>{{if .Open}}<rect class="bar-tail" fill="url(#{{$tl.GID}}-fade)" x="{{f (add .X .W)}}" y="{{f .Y}}" width="{{f .TailW}}" height="{{f .H}}"/>{{end}}<text class="bar-label" x="{{f .X}}" dx="5" y="{{f .Y}}" dy="15">{{.Label}}</text></g>
{{end}}{{range .Marks}}<a href="#{{.Ref}}" class="mark {{.Kind}}" id="{{.ID}}" data-ref="{{.Ref}}"><title>{{.Title}}</title>{{if eq .Kind "rename"}}<path d="M{{f .X}} {{f .Y}}L{{f .X2}} {{f .Y2}}" marker-end="url(#{{$tl.GID}}-arrow)"/><text x="{{f .X2}}" dx="3" y="{{f .Y2}}" dy="4">{{.Label}}</text>{{else}}<line x1="{{f .X}}" x2="{{f .X}}" y1="{{f .Y}}" y2="{{f .Y2}}"/>{{end}}</a>
{{end}}</svg>
<p class="legend">Bars: open→close windows (with no close in the evidence: fading after the last event that shows the file open) · ticks: write (green), fsync (purple), other calls such as open, close and dup (black) · arrows: renames · red: windows of different processes on one name open at once · time from the first event, span {{.Span}}.</p>
<ol class="evidence">
{{range .Evidence}}<li id="{{.ID}}" data-ref="{{.Ref}}"><a href="#{{.Ref}}">{{.Pos}}</a> {{.Text}}</li>
{{end}}</ol>
{{end}}
</div>
{{end}}</div>
</section>
{{end}}
<script>
// Hovering a mark or an evidence line lights up its partner.
document.querySelectorAll('[data-ref]').forEach(function (el) {
  var other = function () { return document.getElementById(el.getAttribute('data-ref')); };
  el.addEventListener('mouseenter', function () { var o = other(); if (o) { o.classList.add('hot'); } });
  el.addEventListener('mouseleave', function () { var o = other(); if (o) { o.classList.remove('hot'); } });
});
</script>
</body>
</html>
`
