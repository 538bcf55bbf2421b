// SPDX-License-Identifier: Apache-2.0
// Vite's build of the dashboard: Preact's JSX through esbuild, hashed
// assets under assets/ (trellisd caches them for good), no inline
// script (trellisd's Content-Security-Policy allows only its own files).
// TRELLIS_DASHBOARD_OUT: where scons wants the files.
import { defineConfig } from 'vite';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: process.env.TRELLIS_DASHBOARD_OUT || 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    target: 'es2020',
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
