// The room page's frame: the header, the side panel (documents and people), the main
// column (lock banner, toolbar, editor), the discussion; on a phone the side panel and
// the discussion are bottom sheets opened from the bottom bar.

import { h, showPage } from './dom.js'

const PHONE = '(max-width: 760px)'

export class RoomLayout {
  /** title: the room's; you: "Name · role"; status: header items; side: the side panel's parts. */
  constructor ({ title, you, status, side }) {
    this.banner = h('p', { class: 'rt-banner', role: 'status', hidden: true })
    this.discussion = h('section', { class: 'rt-discussion', 'aria-label': 'Comments and questions' })
    this.editorRoot = h('div', { class: 'rt-editor', id: 'editor' })
    this.lockBanner = h('p', { class: 'rt-lock', role: 'status', hidden: true })
    this.toolbar = h('div', { class: 'rt-toolbar', role: 'toolbar', 'aria-label': 'Formatting' })
    this.side = h('nav', { class: 'rt-side', id: 'side', 'aria-label': 'Documents and people' },
      h('h2', { class: 'rt-panel-title' }, 'Documents'), side)
    this.aside = h('aside', { class: 'rt-aside', id: 'aside', 'aria-label': 'Discussion' }, this.discussion)
    const sheetButton = (label, target) => h('button', {
      class: 'rt-sheet-button',
      'aria-controls': target.id,
      'aria-expanded': 'false',
      onclick: (event) => this.toggleSheet(target, event.currentTarget)
    }, label)
    this.parts = [
      h('header', { class: 'rt-header' },
        h('h1', { class: 'rt-title' }, title),
        h('span', { class: 'rt-you' }, you),
        status),
      this.banner,
      h('div', { class: 'rt-layout' },
        this.side,
        h('main', { class: 'rt-main', id: 'main' }, this.lockBanner, this.toolbar, this.editorRoot),
        this.aside),
      h('nav', { class: 'rt-bottom', 'aria-label': 'Panels' },
        sheetButton('Documents', this.side), sheetButton('Discussion', this.aside))]
  }

  show () {
    showPage(...this.parts)
  }

  /** Open one bottom sheet (closing the other), or close it if it is open. */
  toggleSheet (target, button) {
    const open = !target.classList.contains('rt-open')
    for (const other of [this.side, this.aside]) other.classList.remove('rt-open')
    for (const b of document.querySelectorAll('.rt-sheet-button')) b.setAttribute('aria-expanded', 'false')
    if (open) {
      target.classList.add('rt-open')
      button.setAttribute('aria-expanded', 'true')
      const focusable = target.querySelector('button, textarea, input, [tabindex]')
      if (focusable) focusable.focus()
    }
  }

  /** On a phone, bring up the discussion sheet (writing a comment opens it). */
  openDiscussion () {
    if (matchMedia(PHONE).matches && !this.aside.classList.contains('rt-open')) {
      const button = document.querySelector(`[aria-controls="${this.aside.id}"]`)
      this.toggleSheet(this.aside, button)
    }
  }

  /** The spotlight banner: who has it, or hidden. */
  showSpotlight (person) {
    this.banner.hidden = !person
    this.banner.textContent = person ? `${person.name} has the spotlight.` : ''
  }
}
