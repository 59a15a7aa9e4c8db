// Server-rendered SVG charts: line chart of metric series (job progress, run history) and bar chart (drift scores).
import type { FC } from "hono/jsx";

export interface Series {
  readonly name: string;
  readonly points: readonly { x: number; y: number }[];
}

const COLORS = ["#2457c5", "#c62828", "#1a7f37", "#a15c00", "#6a3fb5", "#00838f"] as const;
const W = 640;
const H = 240;
const PAD = { l: 48, r: 12, t: 12, b: 28 };

function extent(values: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (lo === hi) return [lo - 1, hi + 1];
  return [lo, hi];
}

const tick = (v: number): string => (Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toPrecision(3));

export const LineChart: FC<{ series: readonly Series[]; title: string; id?: string }> = ({ series, title, id }) => {
  const all = series.flatMap((s) => s.points);
  if (!all.length) return <p class="muted" id={id}>No {title.toLowerCase()} yet.</p>;
  const [x0, x1] = extent(all.map((p) => p.x));
  const [y0, y1] = extent(all.map((p) => p.y));
  const sx = (x: number): number => PAD.l + ((x - x0) / (x1 - x0)) * (W - PAD.l - PAD.r);
  const sy = (y: number): number => H - PAD.b - ((y - y0) / (y1 - y0)) * (H - PAD.t - PAD.b);
  return (
    <svg class="chart" id={id} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title} data-points={String(all.length)}>
      <title>{title}</title>
      <line class="axis" x1={PAD.l} y1={H - PAD.b} x2={W - PAD.r} y2={H - PAD.b} />
      <line class="axis" x1={PAD.l} y1={PAD.t} x2={PAD.l} y2={H - PAD.b} />
      <text x={4} y={PAD.t + 8}>{tick(y1)}</text>
      <text x={4} y={H - PAD.b}>{tick(y0)}</text>
      <text x={PAD.l} y={H - 8}>{tick(x0)}</text>
      <text x={W - PAD.r - 30} y={H - 8}>{tick(x1)}</text>
      {series.map((s, i) => {
        const color = COLORS[i % COLORS.length];
        const d = s.points.map((p, j) => `${j ? "L" : "M"}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ");
        return (
          <g data-series={s.name}>
            <path d={d} fill="none" stroke={color} stroke-width="2" />
            <text x={PAD.l + 8 + i * 110} y={PAD.t + 12} style={`fill:${color}`}>
              {s.name}
            </text>
          </g>
        );
      })}
    </svg>
  );
};

export const BarChart: FC<{ bars: readonly { label: string; value: number }[]; threshold?: number; title: string }> = ({ bars, threshold, title }) => {
  if (!bars.length) return <p class="muted">No {title.toLowerCase()} yet.</p>;
  const max = Math.max(threshold ?? 0, ...bars.map((b) => b.value), 1e-9) * 1.1;
  const rowH = 22;
  const h = bars.length * rowH + 10;
  const sx = (v: number): number => 160 + (v / max) * (W - 170);
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${h}`} role="img" aria-label={title}>
      <title>{title}</title>
      {bars.map((b, i) => (
        <g>
          <text x={4} y={i * rowH + 20}>{b.label}</text>
          <rect x={160} y={i * rowH + 8} width={Math.max(1, sx(b.value) - 160)} height={14} fill={threshold !== undefined && b.value > threshold ? "#c62828" : "#2457c5"} />
          <text x={sx(b.value) + 4} y={i * rowH + 20}>{b.value.toFixed(3)}</text>
        </g>
      ))}
      {threshold !== undefined ? <line x1={sx(threshold)} x2={sx(threshold)} y1={0} y2={h} stroke="#a15c00" stroke-dasharray="4 3" /> : null}
    </svg>
  );
};
