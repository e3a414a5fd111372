"""Jinja2 templates of the reports, kept in Python so that they ship with the code.

``r`` is the report dict, ``charts`` maps a chart name to a base64 PNG.
Filters: ``marked`` (a case's text with its highlight), ``pct``, ``oneline``.
"""

from __future__ import annotations

_SYNTHETIC_MD = """{% if r.synthetic %}
> **Synthetic demo data**: agents, teams, channels, steps, times and ratings
> were generated (`pingjia report demo`); only the comments and labels are real.

{% endif %}"""

ATTRIBUTION_MD = (
    """# Attribution: {{ r.category }} ({{ r.polarity }})

Period {{ r.period.start }} to {{ r.period.end }}, baseline {{ r.baseline.start }} \
to {{ r.baseline.end }}, by `{{ r.by }}`.

"""
    + _SYNTHETIC_MD
    + """## Verdict: {{ r.verdict }}

{{ r.reason }}.

## Rise

| | comments | with {{ r.category }} {{ r.polarity }} | rate |
|---|---:|---:|---:|
| baseline | {{ r.rise.baseline_comments }} | {{ r.rise.baseline_hits }} \
| {{ r.rise.baseline_rate | pct }} |
| period | {{ r.rise.comments }} | {{ r.rise.hits }} | {{ r.rise.rate | pct }} |

Excess over the baseline rate: {{ r.rise.excess }} comments (one-sided p = \
{{ r.rise.p }}).

## Individual ({{ r.by }})

Flagged after Benjamini-Hochberg at {{ r.alpha }}: \
{{ r.individual.flagged | join(", ") or "none" }}.
{% if r.individual.flagged %}
They produced {{ r.individual.excess_over_peers }} more than their peers' rate \
({{ r.individual.peer_rate | pct }}) predicts\
{% if r.individual.share_of_excess is not none %}, \
{{ r.individual.share_of_excess | pct }} of the excess{% endif %}.
{% endif %}

| {{ r.by }} | comments | hits | raw rate | shrunk rate | 95% interval | q | flagged |
|---|---:|---:|---:|---:|---|---:|---|
{% for u in r.individual.units[:15] %}
| {{ u.unit }} | {{ u.comments }} | {{ u.hits }} | {{ u.rate | pct }} \
| {{ u.shrunk_rate | pct }} | {{ u.low | pct }} – {{ u.high | pct }} | {{ u.q }} \
| {{ "yes" if u.flagged else "" }} |
{% endfor %}

## Systemic
{% for field, spread in r.systemic.items() %}

### {{ field }}: {{ spread.flagged | join(", ") or "nothing stands out" }}

| {{ field }} | comments | rate | baseline rate | excess | q (vs others) \
| q (rise) | flagged |
|---|---:|---:|---:|---:|---:|---:|---|
{% for u in spread.units %}
| {{ u.unit }} | {{ u.comments }} | {{ u.rate | pct }} | {{ u.baseline_rate | pct }} \
| {{ u.excess }} | {{ u.q }} | {{ u.rise_q }} | {{ "yes" if u.flagged else "" }} |
{% endfor %}
{% endfor %}

## Time
{% set cp = r.timeline.change_point %}
{% if cp %}

Change point: **{{ cp.date }}**, rate {{ cp.rate_before | pct }} before and \
{{ cp.rate_after | pct }} after (permutation p = {{ cp.p }}).
{% for e in r.timeline.matched_events %}
- Lines up with the event of {{ e.date }} ({{ e.days_from_change }} days): \
{{ e.description }}
{% else %}
- No recorded event within {{ r.timeline.event_window_days }} days.
{% endfor %}
{% else %}

Too few days for a change point.
{% endif %}

| week | comments | hits | rate |
|---|---:|---:|---:|
{% for w in r.timeline.weekly %}
| {{ w.week }} | {{ w.n }} | {{ w.k }} | {{ w.rate | pct }} |
{% endfor %}
"""
)

CASES_MD = (
    """# Training cases

"""
    + _SYNTHETIC_MD
    + """Typical, diverse and confidently labelled negative comments per category
(score ≥ {{ r.params.min_score }}, cosine between cases ≤ \
{{ r.params.max_similarity }}); the phrase carrying the complaint is in bold and
personal data is masked.
{% for c in r.categories %}

## {{ c.category }}

{{ c.negative_comments }} negative comments, {{ c.confident_comments }} \
confidently labelled. Indicative terms: {{ c.indicative_terms[:8] | join(", ") }}.

{% for case in c.cases %}
{{ loop.index }}. {{ case | marked | oneline }} \
<sub>({{ case.id }}, score {{ case.score }})</sub>
{% else %}
No case: {{ c.note | default("no confident negative comment") }}.
{% endfor %}
{% if c.contrast %}

Handled well: {{ c.contrast | marked | oneline }} <sub>({{ c.contrast.id }})</sub>
{% endif %}
{% endfor %}
"""
)

AGENDA_MD = (
    """# Retrospective agenda {{ r.period.start }} to {{ r.period.end }}

{{ r.comments }} comments (previous period {{ r.previous_period.start }} to \
{{ r.previous_period.end }}: {{ r.previous_comments }}).

"""
    + _SYNTHETIC_MD
    + """## Issues

| # | category | negative | rate | previous | trend | severity | looks |
|---:|---|---:|---:|---:|---|---:|---|
{% for i in r.issues %}
| {{ i.rank }} | {{ i.category }} | {{ i.hits }} | {{ i.rate | pct }} \
| {{ i.previous_rate | pct }} | {{ i.trend }} | {{ i.severity }} \
| {{ i.attribution.verdict if i.attribution else "" }} |
{% endfor %}
{% for i in r.issues %}

### {{ i.rank }}. {{ i.category }}: {{ i.trend }}\
{% if i.attribution %}, {{ i.attribution.verdict }}{% endif %}

{% if i.attribution %}
{{ i.attribution.reason }}.
{% if i.attribution.change_point %}
Change point {{ i.attribution.change_point.date }}\
{% for e in i.attribution.matched_events %}; near event {{ e.date }}: \
{{ e.description }}{% endfor %}.
{% endif %}
{% endif %}

{% for case in i.examples %}
- {{ case | marked | oneline }} <sub>({{ case.id }})</sub>
{% endfor %}
{% endfor %}

## Praise worth sharing

{% for p in r.praise %}
- **{{ p.agent_id }}**: {{ p.praised }} of {{ p.comments }} comments praise \
something (shrunk rate {{ p.shrunk_rate | pct }}, 95% {{ p.low | pct }} – \
{{ p.high | pct }}){% if p.example %}: "{{ p.example.text | oneline }}"{% endif %}
{% else %}
- No agent data.
{% endfor %}

## Since the last agenda

{% for f in r.follow_up %}
- {{ f.category }} (was #{{ f.previous_rank }}): {{ f.previous_rate | pct }} → \
{{ f.rate | pct }}, **{{ f.status }}**
{% else %}
- No previous agenda given.
{% endfor %}
"""
)

_BASE_HTML = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{% block title %}{% endblock %}</title>
<style>
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;color:#222;line-height:1.5}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
.synthetic{background:#fff4d6;border-left:4px solid #e0a800;padding:.5rem 1rem}
.flag{color:#b00020;font-weight:bold} mark{background:#ffe58a}
.case{margin:.4rem 0} small{color:#666}
</style></head><body>
{% if r.synthetic %}<p class="synthetic"><b>Synthetic demo data</b>: agents,
teams, channels, steps, times and ratings were generated; only the comments and
labels are real.</p>{% endif %}
{% block body %}{% endblock %}
</body></html>
"""

ATTRIBUTION_HTML = """{% extends "base.html" %}
{% block title %}Attribution: {{ r.category }}{% endblock %}
{% block body %}
<h1>Attribution: {{ r.category }} ({{ r.polarity }})</h1>
<p>Period {{ r.period.start }} – {{ r.period.end }}, baseline
{{ r.baseline.start }} – {{ r.baseline.end }}, by <code>{{ r.by }}</code>.</p>
<h2>Verdict: {{ r.verdict }}</h2><p>{{ r.reason }}.</p>
<p>Rate {{ r.rise.rate | pct }} vs {{ r.rise.baseline_rate | pct }};
excess {{ r.rise.excess }} comments (p = {{ r.rise.p }}).</p>
<h2>Time</h2>
<img alt="weekly rate" src="data:image/png;base64,{{ charts.trend }}">
{% set cp = r.timeline.change_point %}
{% if cp %}<p>Change point <b>{{ cp.date }}</b>: {{ cp.rate_before | pct }} →
{{ cp.rate_after | pct }} (p = {{ cp.p }}).
{% for e in r.timeline.matched_events %} Lines up with {{ e.date }}:
{{ e.description }}.{% else %} No recorded event within
{{ r.timeline.event_window_days }} days.{% endfor %}</p>{% endif %}
<h2>Individual ({{ r.by }})</h2>
<p>Flagged: <span class="flag">{{ r.individual.flagged | join(", ") or "none" }}
</span></p>
<img alt="per unit" src="data:image/png;base64,{{ charts.units }}">
<table><tr><th>{{ r.by }}</th><th>n</th><th>hits</th><th>raw</th><th>shrunk</th>
<th>95%</th><th>q</th></tr>
{% for u in r.individual.units[:15] %}
<tr{% if u.flagged %} class="flag"{% endif %}><td>{{ u.unit }}</td>
<td>{{ u.comments }}</td><td>{{ u.hits }}</td><td>{{ u.rate | pct }}</td>
<td>{{ u.shrunk_rate | pct }}</td><td>{{ u.low | pct }} – {{ u.high | pct }}</td>
<td>{{ u.q }}</td></tr>
{% endfor %}</table>
<h2>Systemic</h2>
{% for field, spread in r.systemic.items() %}
<h3>{{ field }}: {{ spread.flagged | join(", ") or "nothing stands out" }}</h3>
{% if charts.get(field) %}
<img alt="per {{ field }}" src="data:image/png;base64,{{ charts[field] }}">
{% endif %}
{% endfor %}
{% endblock %}
"""

CASES_HTML = """{% extends "base.html" %}
{% block title %}Training cases{% endblock %}
{% block body %}
<h1>Training cases</h1>
<p>Typical, diverse, confidently labelled negative comments; the complaint is
highlighted, personal data masked.</p>
{% for c in r.categories %}
<h2>{{ c.category }}</h2>
<p><small>{{ c.negative_comments }} negative, {{ c.confident_comments }}
confident; terms: {{ c.indicative_terms[:8] | join(", ") }}</small></p>
<ol>{% for case in c.cases %}<li class="case">{{ case | marked }}
<small>{{ case.id }}</small></li>{% endfor %}</ol>
{% if c.contrast %}<p>Handled well: {{ c.contrast | marked }}
<small>{{ c.contrast.id }}</small></p>{% endif %}
{% endfor %}
{% endblock %}
"""

AGENDA_HTML = """{% extends "base.html" %}
{% block title %}Agenda {{ r.period.start }}{% endblock %}
{% block body %}
<h1>Retrospective agenda {{ r.period.start }} – {{ r.period.end }}</h1>
<p>{{ r.comments }} comments; previous period {{ r.previous_comments }}.</p>
{% if charts.trend %}
<img alt="weekly negative rates" src="data:image/png;base64,{{ charts.trend }}">
{% endif %}
<h2>Issues</h2>
{% for i in r.issues %}
<h3>{{ i.rank }}. {{ i.category }}: {{ i.trend }}
{% if i.attribution %}, {{ i.attribution.verdict }}{% endif %}</h3>
<p>{{ i.hits }} negative ({{ i.rate | pct }}, previous
{{ i.previous_rate | pct }}); severity {{ i.severity }}.
{% if i.attribution %}{{ i.attribution.reason }}.{% endif %}</p>
<ul>{% for case in i.examples %}<li class="case">{{ case | marked }}</li>
{% endfor %}</ul>
{% endfor %}
<h2>Praise worth sharing</h2>
<ul>{% for p in r.praise %}<li><b>{{ p.agent_id }}</b>: {{ p.praised }} of
{{ p.comments }} (shrunk {{ p.shrunk_rate | pct }})
{% if p.example %}: “{{ p.example.text }}”{% endif %}</li>{% endfor %}</ul>
<h2>Since the last agenda</h2>
<ul>{% for f in r.follow_up %}<li>{{ f.category }}: {{ f.previous_rate | pct }}
→ {{ f.rate | pct }}, <b>{{ f.status }}</b></li>
{% else %}<li>No previous agenda given.</li>{% endfor %}</ul>
{% endblock %}
"""

TEMPLATES = {
    "base.html": _BASE_HTML,
    "attribution.md": ATTRIBUTION_MD,
    "attribution.html": ATTRIBUTION_HTML,
    "cases.md": CASES_MD,
    "cases.html": CASES_HTML,
    "agenda.md": AGENDA_MD,
    "agenda.html": AGENDA_HTML,
}
