// Bundles src/ into dist/ (committed, so that `roundtable serve` needs no Node).
// `node build.mjs --outdir DIR` writes elsewhere: the tests compare that with dist/.
//
// The bundle is split: the entry app-<hash>.js holds the join page; the room page
// (TipTap, ProseMirror, Yjs) is a chunk it imports only when needed, and what both use
// is a chunk of its own (chunks/). Every file is named by the hash of its content, so
// the server lets browsers keep them for good (server/http/assets.py); only app.html,
// which names them, is revalidated.
//
// A build into dist/ also writes those names into app.html: the stylesheet, the entry
// script, and a <link rel="modulepreload"> per chunk the entry imports, so that the
// browser fetches them beside the entry rather than after it.
//
// The files are built beside the output directory, moved into it (each file appears
// whole), app.html is written, and only then are the files of earlier builds removed:
// a server reading dist/ meanwhile finds every file the page it serves names.

import * as esbuild from 'esbuild'
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

const args = process.argv.slice(2)
const outIndex = args.indexOf('--outdir')
const outdir = outIndex >= 0 ? args[outIndex + 1] : 'dist'
const staging = `${outdir}.building-${process.pid}`
const PAGE = 'app.html'
const URL_PREFIX = '/static/dist/'

const OPTIONS = {
  entryPoints: { app: 'src/main.js', style: 'src/app.css' },
  bundle: true,
  splitting: true,
  format: 'esm',
  target: ['es2022'],
  minify: true,
  sourcemap: false,
  // Licence comments (/*! ... */, @license) stay, at the end of the file they came in.
  legalComments: 'eof',
  entryNames: '[name]-[hash]',
  chunkNames: 'chunks/[name]-[hash]',
  metafile: true,
  outdir: staging,
  logLevel: 'warning'
}

/** Every file under `directory`, as paths relative to it. */
function filesUnder (directory) {
  return readdirSync(directory, { recursive: true })
    .filter((path) => statSync(join(directory, path)).isFile())
}

/** app.html with the line matching `pattern` (which must be there) replaced by `lines`. */
function replaceLine (page, pattern, lines) {
  if (!pattern.test(page)) throw new Error(`${PAGE} has no line matching ${pattern}`)
  return page.replace(pattern, lines.join(''))
}

/** app.html naming the files of this build (`outputs`: esbuild's metafile outputs). */
function pageFor (outputs) {
  const url = (path) => URL_PREFIX + relative(staging, path)
  const entry = (source) => Object.entries(outputs).find(([, output]) => output.entryPoint === source)
  const [scriptPath, script] = entry('src/main.js')
  const [stylePath] = entry('src/app.css')
  const preloads = script.imports
    .filter((imported) => imported.kind === 'import-statement')
    .map((imported) => `  <link rel="modulepreload" href="${url(imported.path)}">\n`)
  let page = readFileSync(PAGE, 'utf8')
    .replace(/^ *<link rel="modulepreload"[^>]*>\n/gm, '')
  page = replaceLine(page, /^ *<link rel="stylesheet" href="\/static\/dist\/[^"]*">\n/m,
    [`  <link rel="stylesheet" href="${url(stylePath)}">\n`])
  return replaceLine(page, /^ *<script type="module" src="\/static\/dist\/[^"]*"><\/script>\n/m,
    [`  <script type="module" src="${url(scriptPath)}"></script>\n`, ...preloads])
}

rmSync(staging, { recursive: true, force: true })
try {
  const result = await esbuild.build(OPTIONS)
  const built = filesUnder(staging)
  for (const path of built) {
    mkdirSync(dirname(join(outdir, path)), { recursive: true })
    renameSync(join(staging, path), join(outdir, path))
  }
  if (outIndex < 0) writeFileSync(PAGE, pageFor(result.metafile.outputs))
  const kept = new Set(built)
  for (const path of filesUnder(outdir)) {
    if (!kept.has(path)) rmSync(join(outdir, path))
  }
} finally {
  rmSync(staging, { recursive: true, force: true })
}
