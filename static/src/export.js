// Taking a document out of the room: a download as Markdown or HTML (the server's
// export), or the browser's print dialog, where "Save as PDF" makes a PDF through the
// print stylesheet (styles/print.css). Each says what it did in a short confirmation
// on the page, also read out by screen readers.

import { doc } from './api.js'
import { announce, h } from './dom.js'
import { formatDateTime, t } from './i18n.js'

/** The download formats: the server's format name, the file's extension, the icon. */
export const FORMATS = [
  { format: 'markdown', extension: '.md', icon: 'markdown' },
  { format: 'html', extension: '.html', icon: 'html' }
]

let toast = null
let toastTimer = 0

/**
 * Show `text` for a few seconds in a small message at the bottom of the page, and
 * announce it. `error` styles it as a failure.
 */
export function showConfirmation (text, { error = false } = {}) {
  if (!toast || !toast.isConnected) {
    toast = h('div', { class: 'rt-toast', 'aria-hidden': 'true', onclick: () => { toast.hidden = true } })
    document.body.append(toast)
  }
  toast.textContent = text
  toast.classList.toggle('rt-toast-error', error)
  toast.hidden = false
  announce(text)
  clearTimeout(toastTimer)
  toastTimer = setTimeout(() => { toast.hidden = true }, error ? 10000 : 6000)
}

/** Download document `name` in `format` (see FORMATS) and confirm it. */
export async function exportDocument (api, name, format) {
  const { extension } = FORMATS.find((f) => f.format === format)
  try {
    await api.download(doc(name) + '/export?format=' + format)
    showConfirmation(t('export.downloaded', { file: name + extension }))
  } catch (error) {
    showConfirmation(t('export.failed', { name, error: error.message }), { error: true })
  }
}

/**
 * The heading printed above the document (the page's own header is not printed):
 * the document's name, the room and when it was printed. Hidden on screen.
 */
export class PrintHeading {
  constructor (room) {
    this.room = room
    this.name = ''
    this.title = h('h1', { class: 'rt-print-name' })
    this.meta = h('p', { class: 'rt-print-meta' })
    this.element = h('header', { class: 'rt-print-head' }, this.title, this.meta)
    this.savedTitle = null
    // Also when printing from the browser's menu or with Ctrl+P: the page's title is
    // what the browser suggests as the PDF's file name.
    addEventListener('beforeprint', () => {
      this.prepare()
      if (this.savedTitle === null && this.name) {
        this.savedTitle = document.title
        document.title = this.name
      }
    })
    addEventListener('afterprint', () => {
      if (this.savedTitle !== null) document.title = this.savedTitle
      this.savedTitle = null
    })
  }

  /** The document now open. */
  show (name) {
    this.name = name
    this.prepare()
  }

  prepare () {
    this.title.textContent = this.name
    this.meta.textContent = t('export.printMeta', { room: this.room, date: formatDateTime(Date.now()) })
  }

  /** Open the print dialog for the open document, saying how to get a PDF. */
  print () {
    this.prepare()
    showConfirmation(t('export.printing', { name: this.name }))
    // After the message is painted: print() blocks the page while its dialog is open.
    requestAnimationFrame(() => setTimeout(() => window.print(), 0))
  }
}
