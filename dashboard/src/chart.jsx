// SPDX-License-Identifier: Apache-2.0
// A time-series chart (uPlot, loaded the first time a chart shows, so the
// first load stays small).  series: [{label, values}], x: unix seconds.
import { useEffect, useRef } from 'preact/hooks';

const PALETTE = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2'];

export function Chart({ title, x, series, height = 220 }) {
  const el = useRef(null);
  useEffect(() => {
    let plot = null;
    let gone = false;
    Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([m]) => {
      if (gone || !el.current) return;
      const UPlot = m.default;
      const dark = matchMedia('(prefers-color-scheme: dark)').matches && document.documentElement.dataset.theme !== 'light'
        || document.documentElement.dataset.theme === 'dark';
      const axis = { stroke: dark ? '#d1d5db' : '#374151', grid: { stroke: dark ? '#374151' : '#e5e7eb' } };
      plot = new UPlot({
        title, width: Math.max(300, el.current.clientWidth), height,
        series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: PALETTE[i % PALETTE.length], width: 2 }))],
        axes: [axis, axis],
      }, [x, ...series.map((s) => s.values)], el.current);
    });
    return () => { gone = true; if (plot) plot.destroy(); };
  }, [title, x, series, height]);
  return <div class="chart" ref={el} role="img" aria-label={title} />;
}
