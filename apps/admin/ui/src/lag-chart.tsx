import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { RouteHistory } from './api';

/** Distinct, colour-blind-safe line colours (Okabe–Ito). */
const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];

/**
 * Lag in seconds over the last hour of the routes that lagged most in it,
 * one line each (uPlot: a small canvas chart; redrawn when new history comes).
 */
export function LagChart({ history, routes }: { history: RouteHistory[]; routes: number }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const worst = [...history]
      .map((h) => ({ h, peak: Math.max(0, ...h.points.map((p) => p.lagSeconds ?? 0)) }))
      .sort((a, b) => b.peak - a.peak)
      .slice(0, routes)
      .map(({ h }) => h);
    const times = [...new Set(worst.flatMap((h) => h.points.map((p) => Math.floor(Date.parse(p.at) / 1000))))].sort((a, b) => a - b);
    const series = worst.map((h) => {
      const at = new Map(h.points.map((p) => [Math.floor(Date.parse(p.at) / 1000), p.lagSeconds]));
      return times.map((t) => at.get(t) ?? null);
    });
    const plot = new uPlot(
      {
        width: Math.max(280, element.clientWidth),
        height: 180,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [{}, { label: 'lag (s)', size: 50 }],
        series: [{}, ...worst.map((h, i) => ({ label: h.route, stroke: COLOURS[i % COLOURS.length], width: 1.5, spanGaps: false }))],
        legend: { live: false },
      },
      [times, ...series],
      element,
    );
    const resize = () => plot.setSize({ width: Math.max(280, element.clientWidth), height: 180 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [history, routes]);
  return <div ref={box} class="chart" role="img" aria-label="Lag in seconds over the last hour of the routes that lagged most" />;
}

/** A route's lag over the last hour as a tiny line (inline SVG: cheap for hundreds of rows). */
export function Sparkline({ points }: { points: Array<number | null> }) {
  const values = points.map((p) => p ?? 0);
  if (values.length < 2) return <span class="muted">–</span>;
  const max = Math.max(1, ...values);
  const step = 100 / (values.length - 1);
  const line = values.map((v, i) => `${(i * step).toFixed(1)},${(20 - (v / max) * 18).toFixed(1)}`).join(' ');
  return (
    <svg class="spark" viewBox="0 0 100 20" preserveAspectRatio="none" role="img" aria-label={`lag over the last hour, peak ${Math.round(max)} s`}>
      <polyline points={line} fill="none" stroke="currentColor" stroke-width="1.5" vector-effect="non-scaling-stroke" />
    </svg>
  );
}
