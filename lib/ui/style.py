"""The app's look: its one stylesheet (CSS, included in the app's HTML blocks), the color of each
status, and one pair of colors for reference vs current."""

from __future__ import annotations

from lib.judge.status import COLOR, GREY

# One pair of colors for reference vs current, everywhere in the app.
REF_COLOR = "#94a3b8"
CUR_COLOR = "#2563eb"

CSS = """
<style>
[data-testid="stMainBlockContainer"]{padding-top:2.2rem}
.dl-counts{display:flex;gap:.6rem;flex-wrap:wrap;margin:.1rem 0 .6rem 0}
.dl-count{display:flex;align-items:center;gap:.5rem;padding:.45rem .8rem;border-radius:.5rem;border:1px solid #e5e7eb;
  background:#fff;min-width:9.5rem;border-left:5px solid var(--c)}
.dl-count b{font-size:1.45rem;line-height:1;font-variant-numeric:tabular-nums}
.dl-count span.w{font-size:.82rem;color:#374151;line-height:1.15}
.dl-count span.w small{display:block;color:#6b7280;font-size:.72rem}
.dl-count span.w small.of{color:#374151;font-weight:600}
.dl-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(182px,1fr));gap:6px}
a.dl-tile{display:block;text-decoration:none!important;color:#111827!important;background:#fff;border:1px solid #e5e7eb;
  border-left:5px solid var(--c);border-radius:6px;padding:5px 8px 6px 8px;line-height:1.25;overflow:hidden}
a.dl-tile:hover{box-shadow:0 1px 6px rgba(0,0,0,.15);border-color:#cbd5e1}
.dl-tile .t1{display:flex;justify-content:space-between;align-items:center;font-size:.68rem;color:#6b7280;gap:4px}
.dl-tile .st{font-weight:700;color:var(--c);text-transform:uppercase;letter-spacing:.02em;white-space:nowrap}
.dl-tile .tm{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.dl-tile .id{font-weight:600;font-size:.82rem;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;margin-top:1px}
.dl-tile .rs{font-size:.72rem;color:#374151;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.dl-grid.ok{grid-template-columns:repeat(auto-fill,minmax(138px,1fr));gap:4px}
a.dl-tile.ok{padding:3px 7px 4px 7px;border-left-width:4px}
.dl-tile.ok .id{font-size:.76rem;font-weight:500;margin-top:0}
.dl-tile.ok .dl-strip{height:4px;margin-top:3px}
.dl-sec{font-size:.8rem;color:#374151;font-weight:600;margin:.9rem 0 .35rem 0}
.dl-sec small{font-weight:400;color:#6b7280}
.dl-strip{display:flex;gap:1px;margin-top:4px;height:7px}
.dl-strip i{flex-basis:0;border-radius:1px;background:var(--s)}
.dl-pill{display:inline-block;padding:.1rem .55rem;border-radius:999px;font-weight:700;font-size:.8rem;color:#fff;
  background:var(--c);white-space:nowrap}
.dl-reasons{display:flex;flex-direction:column;gap:6px;margin:.2rem 0 .4rem 0}
.dl-reason{border:1px solid #e5e7eb;border-left:5px solid var(--c);border-radius:6px;padding:6px 10px;background:#fff}
.dl-reason .h{display:flex;gap:.5rem;align-items:center;flex-wrap:wrap;font-size:.8rem;color:#374151}
.dl-reason .h b{color:var(--c);text-transform:uppercase;font-size:.75rem}
.dl-reason .m{font-size:.92rem;color:#111827;margin-top:2px}
.dl-chip{display:inline-block;padding:0 .45rem;border-radius:4px;background:#f3f4f6;color:#374151;font-size:.74rem;
  border:1px solid #e5e7eb;white-space:nowrap}
.dl-chip.sudden{background:#fef2f2;border-color:#fecaca;color:#991b1b}
.dl-chip.gradual{background:#fffbeb;border-color:#fde68a;color:#92400e}
.dl-checks{display:flex;flex-wrap:wrap;gap:4px;margin:.2rem 0 .3rem 0}
.dl-check{font-size:.74rem;padding:1px 7px;border-radius:4px;border:1px solid #e5e7eb;border-left:4px solid var(--c);
  background:#fff;white-space:nowrap}
.dl-meta{display:flex;flex-wrap:wrap;gap:.35rem 1.2rem;font-size:.85rem;color:#374151;margin:.1rem 0 .5rem 0}
.dl-meta span b{color:#6b7280;font-weight:500;margin-right:.3rem}
.dl-tl{display:grid;grid-template-columns:repeat(30,1fr);gap:2px}
.dl-tl div{height:34px;border-radius:3px;background:var(--c);color:#fff;font-size:.7rem;display:flex;align-items:center;
  justify-content:center}
.dl-tl div.nd{background:repeating-linear-gradient(135deg,#f3f4f6 0 4px,#e5e7eb 4px 8px);color:#9ca3af}
.dl-strip i.nd{background:#e5e7eb}
.dl-tl-d{display:grid;grid-template-columns:repeat(30,1fr);gap:2px;font-size:.62rem;color:#6b7280;text-align:center}
.dl-empty{color:#6b7280;font-size:.9rem;padding:.6rem 0}
</style>
"""


def _c(status: str) -> str:
    return COLOR.get(status, COLOR[GREY])
