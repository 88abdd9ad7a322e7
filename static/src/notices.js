// What the page says above the open document: the read-only banner (an observer's
// role, a facilitator's lock and who holds it) and notices of what someone else did
// to the text (a restored version), which stay until dismissed.

import { announce, h, replace } from './dom.js'
import { formatDateTime, formatTime, t } from './i18n.js'

/**
 * Show `banner` ({kind, text} from logic/documents.js readOnlyBanner) in `element`, or
 * hide it (null).
 */
export function showReadOnlyBanner (element, banner) {
  element.hidden = !banner
  element.textContent = banner ? banner.text : ''
  if (banner) element.dataset.kind = banner.kind
  else delete element.dataset.kind
}

export class Notices {
  constructor () {
    this.element = h('div', { class: 'rt-notices' })
  }

  /**
   * A version was restored (the document.restored event: {document, version, by}, `at`
   * its time): say who restored which version, when, and that text was replaced; on
   * the open document (`open`) or another. `onOpenVersions(document)`, when given
   * (facilitators), is offered as a button. Replaces an earlier restore notice.
   */
  restored ({ data, at, open, onOpenVersions }) {
    const params = { name: data.by, version: data.version.name, document: data.document }
    const title = data.document === open ? t('states.restored', params) : t('states.restoredOther', params)
    const notice = h('section', { class: 'rt-notice rt-notice-restored', 'aria-labelledby': 'rt-restored-title' },
      h('p', { class: 'rt-notice-title', id: 'rt-restored-title' }, title),
      h('p', { class: 'rt-notice-detail' },
        t('states.restoredDetail', { time: formatTime(at), saved: formatDateTime(data.version.created_at) }), ' ',
        onOpenVersions ? t('states.restoredKeptFacilitator') : t('states.restoredKept')),
      h('div', { class: 'rt-notice-actions' },
        onOpenVersions
          ? h('button', { type: 'button', class: 'rt-primary', onclick: () => onOpenVersions(data.document) }, t('states.openVersions'))
          : null,
        h('button', { type: 'button', 'aria-label': t('states.dismissNotice'), onclick: () => this.dismiss() }, t('states.dismiss'))))
    replace(this.element, notice)
    announce(title)
  }

  /** Take the notice away. */
  dismiss () {
    const focused = this.element.contains(document.activeElement)
    replace(this.element)
    // Focus was on the notice: it goes back to the text.
    if (focused) document.querySelector('.rt-prose')?.focus()
  }
}
