// Bundles src/ into dist/ (committed, so that `roundtable serve` needs no Node).
// `node build.mjs --outdir DIR` writes elsewhere: the tests compare that with dist/.

import * as esbuild from 'esbuild'

const args = process.argv.slice(2)
const outIndex = args.indexOf('--outdir')
const outdir = outIndex >= 0 ? args[outIndex + 1] : 'dist'

await esbuild.build({
  entryPoints: { app: 'src/main.js', style: 'src/app.css' },
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  minify: true,
  sourcemap: false,
  legalComments: 'eof',
  outdir,
  logLevel: 'warning'
})
