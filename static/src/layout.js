// The room page's frame: the header (the room's title, the live status, and the "you"
// menu with your name, role and the interface's language), the side panel (documents
// and people), the main column (lock banner, toolbar, editor) and the discussion.
//
// On a phone the side panel and the discussion are bottom sheets opened from the bottom
// bar, one at a time. A sheet closes with its Close button, Escape, a tap beside it, a
// swipe down on its head, and after a choice made in it (closeSheet); focus then goes
// back to what opened it. While the on-screen keyboard is up the bottom bar steps aside
// and the focused field (and its send button) is kept in view.

import { h, showPage } from './dom.js'
import { LANGUAGES, language, setLanguage, t } from './i18n.js'
import { colourClass } from './logic/colours.js'
import { initials } from './logic/names.js'
import { signedInAccount } from './session.js'

const PHONE = '(max-width: 760px)'
// A swipe down this far (px) on a sheet's head closes it.
const SWIPE_CLOSES = 60
// The window is this much shorter than it was at this width: the keyboard is up.
const KEYBOARD_SHRINK = 0.8
// Room (px) kept between the caret and the bars fixed over the page.
const CARET_MARGIN = 16

/** Whether typing into `el` brings up an on-screen keyboard. */
function takesText (el) {
  if (!el || el === document.body) return false
  if (el.isContentEditable) return true
  if (el.tagName === 'TEXTAREA') return true
  return el.tagName === 'INPUT' && !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color', 'file'].includes(el.type)
}

/** The nearest ancestor of `el` that scrolls vertically, else the document. */
function scrollerOf (el) {
  for (let node = el.parentElement; node; node = node.parentElement) {
    const overflow = getComputedStyle(node).overflowY
    if ((overflow === 'auto' || overflow === 'scroll') && node.scrollHeight > node.clientHeight) return node
  }
  return document.scrollingElement
}

/** Where the text caret is in the focused contenteditable, or null. */
function caretRect () {
  const selection = getSelection()
  if (!selection.rangeCount) return null
  const range = selection.getRangeAt(0).cloneRange()
  range.collapse(false)
  const rect = range.getClientRects()[0]
  if (rect) return rect
  const node = selection.focusNode
  const element = node && (node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement)
  return element ? element.getBoundingClientRect() : null
}

export class RoomLayout {
  /**
   * title: the room's; you: {name, role}, the role as the page names it; status: the
   * header's live items; side: the side panel's parts.
   */
  constructor ({ title, you, status, side }) {
    this.banner = h('p', { class: 'rt-banner', role: 'status', hidden: true })
    this.discussion = h('section', { class: 'rt-discussion', 'aria-label': t('room.commentsAndQuestions') })
    this.editorRoot = h('div', { class: 'rt-editor', id: 'editor' })
    this.lockBanner = h('p', { class: 'rt-lock', role: 'status', hidden: true })
    this.toolbar = h('div', { class: 'rt-toolbar', role: 'toolbar', 'aria-label': t('room.formatting') })
    this.side = this.sheet('nav', 'side', t('room.documentsAndPeople'), t('room.documents'), side)
    this.aside = this.sheet('aside', 'aside', t('room.discussion'), t('room.discussion'), this.discussion, 'rt-sheet-only')
    this.openSheet = null
    this.opener = null
    this.sheetButtons = new Map()
    const sheetButton = (label, target) => {
      const button = h('button', {
        type: 'button',
        class: 'rt-sheet-button',
        'aria-controls': target.id,
        'aria-expanded': 'false',
        onclick: () => this.toggleSheet(target)
      }, label)
      this.sheetButtons.set(target, button)
      return button
    }
    this.scrim = h('div', { class: 'rt-scrim', 'aria-hidden': 'true', onclick: () => this.closeSheet() })
    this.root = h('div', { class: 'rt-room' },
      h('header', { class: 'rt-header' },
        h('h1', { class: 'rt-title' }, title),
        status,
        this.youMenu(you)),
      this.banner,
      h('div', { class: 'rt-layout' },
        this.side,
        h('main', { class: 'rt-main', id: 'main' }, this.lockBanner, this.toolbar, this.editorRoot),
        this.aside),
      this.scrim,
      h('nav', { class: 'rt-bottom', 'aria-label': t('room.panels') },
        sheetButton(t('room.documents'), this.side), sheetButton(t('room.discussion'), this.aside)))
    document.addEventListener('keydown', (event) => this.onKey(event))
    document.addEventListener('pointerdown', (event) => {
      if (!this.youPanel.hidden && !this.youMenuRoot.contains(event.target)) this.closeYou(false)
    })
    this.followViewport()
  }

  /** Put the room's frame on the page. */
  show () {
    showPage(this.root)
  }

  // Sheets

  /** A side column that is a bottom sheet on a phone: its head (title, Close) and `content`. */
  sheet (tag, id, label, title, content, titleClass = '') {
    const heading = h('h2', { class: `rt-panel-title ${titleClass}`.trim(), id: id + '-title', tabindex: '-1' }, title)
    const head = h('div', { class: 'rt-sheet-head' },
      h('span', { class: 'rt-sheet-handle', 'aria-hidden': 'true' }),
      heading,
      h('button', { type: 'button', class: 'rt-sheet-close', onclick: () => this.closeSheet() }, t('room.close')))
    this.swipeToClose(head)
    return h(tag, { class: 'rt-' + id, id, 'aria-label': label }, head, content)
  }

  /** A swipe down that starts on a sheet's `head` (not on its Close button) closes it. */
  swipeToClose (head) {
    let start = null
    head.addEventListener('pointerdown', (event) => {
      if (event.target.closest('button')) return
      start = event.clientY
      head.setPointerCapture(event.pointerId)
    })
    head.addEventListener('pointerup', (event) => {
      if (start !== null && event.clientY - start > SWIPE_CLOSES) this.closeSheet()
      start = null
    })
    head.addEventListener('pointercancel', () => { start = null })
  }

  /** Open `target`'s sheet (closing the other one), or close it if it is open. */
  toggleSheet (target) {
    if (this.openSheet === target) this.closeSheet()
    else this.openSheetFor(target)
  }

  /** Open `target`'s sheet; focus goes to `focus` (an element in it), else its title. */
  openSheetFor (target, focus = null) {
    const before = document.activeElement
    if (this.openSheet && this.openSheet !== target) this.setOpen(this.openSheet, false)
    const inSheets = before && (this.side.contains(before) || this.aside.contains(before))
    this.opener = before && before !== document.body && !inSheets
      ? before
      : this.opener || this.sheetButtons.get(target)
    this.openSheet = target
    this.setOpen(target, true)
    if (!target.contains(document.activeElement)) (focus || target.querySelector('.rt-panel-title')).focus()
  }

  /**
   * Close the open sheet, if any (a choice was made in it, or it was dismissed); focus
   * goes back to what opened it. Does nothing on a desk, where nothing is a sheet.
   */
  closeSheet () {
    const target = this.openSheet
    if (!target) return
    const hadFocus = target.contains(document.activeElement)
    this.setOpen(target, false)
    this.openSheet = null
    const opener = this.opener
    this.opener = null
    if (opener && opener.isConnected && (hadFocus || document.activeElement === document.body)) {
      opener.focus({ preventScroll: true })
    }
  }

  /** Show or hide `target`'s sheet, its bottom-bar button's state and the scrim. */
  setOpen (target, open) {
    target.classList.toggle('rt-open', open)
    const button = this.sheetButtons.get(target)
    if (button) button.setAttribute('aria-expanded', String(open))
    this.scrim.classList.toggle('rt-open', open)
  }

  /** On a phone, bring up the discussion sheet (writing a comment opens it). */
  openDiscussion () {
    if (!matchMedia(PHONE).matches) return
    this.openSheetFor(this.aside, this.aside.querySelector('#new-comment'))
  }

  /** Escape closes the "you" menu, else the open sheet (a modal dialog handles its own). */
  onKey (event) {
    if (event.key !== 'Escape' || event.defaultPrevented) return
    if (document.querySelector('dialog[open]')) return
    if (!this.youPanel.hidden) {
      this.closeYou(true)
    } else if (this.openSheet) {
      this.closeSheet()
    } else {
      return
    }
    event.preventDefault()
  }

  // The on-screen keyboard

  /**
   * Track the visible part of the window: sheets fit above the keyboard (--viewport-height,
   * --keyboard-inset), the bottom bar hides while it is up, the focused field stays in view.
   */
  followViewport () {
    const viewport = window.visualViewport
    const root = document.documentElement
    let width = 0
    let tallest = 0
    const update = (event) => {
      const height = viewport ? viewport.height : innerHeight
      if (innerWidth !== width) {
        width = innerWidth
        tallest = 0
      }
      tallest = Math.max(tallest, innerHeight, height)
      root.style.setProperty('--viewport-height', `${Math.round(height)}px`)
      const inset = viewport ? innerHeight - viewport.height - viewport.offsetTop : 0
      root.style.setProperty('--keyboard-inset', `${Math.max(0, Math.round(inset))}px`)
      const keyboard = matchMedia(PHONE).matches && takesText(document.activeElement) && height < tallest * KEYBOARD_SHRINK
      if (keyboard) {
        root.dataset.keyboard = 'open'
        requestAnimationFrame(() => this.keepFocusInView())
      } else if (!event || event.type === 'resize') {
        // Only once the window has grown back: a tap that moves focus to a button
        // must not move the page under the finger before its click lands.
        delete root.dataset.keyboard
      }
    }
    window.addEventListener('resize', update)
    if (viewport) viewport.addEventListener('resize', update)
    document.addEventListener('focusin', update)
    update()
    // Once the editor has scrolled the caret into the window, after each change of it.
    let pending = false
    document.addEventListener('selectionchange', () => {
      if (pending) return
      pending = true
      requestAnimationFrame(() => {
        pending = false
        this.keepCaretClear()
      })
    })
  }

  /**
   * On a phone, keep the caret of the document being typed in clear of what is fixed
   * over the page: the sticky toolbar above, the bottom bar (or the keyboard) below.
   * The editor scrolls the caret into the window; this scrolls it out from under those.
   */
  keepCaretClear () {
    const el = document.activeElement
    if (!matchMedia(PHONE).matches || !el || !el.isContentEditable) return
    const rect = caretRect()
    if (!rect) return
    const viewport = window.visualViewport
    let bottom = viewport ? viewport.offsetTop + viewport.height : innerHeight
    const bar = this.root.querySelector('.rt-bottom')
    const barBox = bar.getBoundingClientRect()
    if (barBox.height) bottom = Math.min(bottom, barBox.top)
    const toolbarBox = this.toolbar.getBoundingClientRect()
    const top = toolbarBox.height && toolbarBox.top <= 1 ? toolbarBox.bottom : 0
    const scroller = scrollerOf(el)
    if (rect.bottom > bottom - CARET_MARGIN) scroller.scrollBy(0, rect.bottom - bottom + CARET_MARGIN)
    else if (rect.top < top + CARET_MARGIN) scroller.scrollBy(0, rect.top - top - CARET_MARGIN)
  }

  /** Scroll the focused field, and the button that sends it, into view. */
  keepFocusInView () {
    const el = document.activeElement
    if (!takesText(el)) return
    if (el.isContentEditable) {
      this.keepCaretClear()
      return
    }
    el.scrollIntoView({ block: 'nearest' })
    const send = el.form && el.form.querySelector('button[type="submit"]')
    if (send) send.scrollIntoView({ block: 'nearest' })
  }

  // The "you" menu

  /** The header's button with your initials (and, on a desk, name and role), and its menu. */
  youMenu ({ name, role }) {
    this.avatar = h('span', { class: 'rt-avatar', 'aria-hidden': 'true' }, initials(name))
    this.youButton = h('button', {
      type: 'button',
      class: 'rt-you-button',
      'aria-expanded': 'false',
      'aria-controls': 'you-panel',
      onclick: () => this.youPanel.hidden ? this.openYou() : this.closeYou(true)
    }, this.avatar, h('span', { class: 'rt-you' }, t('room.you', { name, role })))
    const choice = h('select', {
      id: 'language',
      onchange: (event) => {
        setLanguage(event.target.value)
        location.reload()
      }
    }, LANGUAGES.map((l) => h('option', { value: l.code, lang: l.code, selected: l.code === language() }, l.name)))
    // What else the room puts in the menu (a guest's "Keep your seat", people-manage.js).
    this.youExtra = h('div', { class: 'rt-you-extra' })
    // The room's pages about you and the room (participation.js).
    this.youTools = h('div', { class: 'rt-you-tools' })
    // Signed in: back to My rooms, and to the account (sessions, data).
    const account = signedInAccount()
    const links = account
      ? h('p', { class: 'rt-you-links' },
        h('a', { href: '/' }, t('room.myRooms')), ' · ',
        h('a', { href: '/account' }, t('room.account')))
      : null
    this.youPanel = h('div', { class: 'rt-you-panel', id: 'you-panel', role: 'group', 'aria-labelledby': 'you-name', hidden: true },
      h('p', { class: 'rt-you-name', id: 'you-name' }, name),
      h('p', { class: 'rt-you-role' }, t('room.yourRole', { role })),
      links,
      this.youTools,
      h('label', { for: 'language' }, t('room.language')), choice,
      this.youExtra)
    this.youMenuRoot = h('div', { class: 'rt-you-menu' }, this.youButton, this.youPanel)
    return this.youMenuRoot
  }

  /** Open the "you" menu (closing a sheet). */
  openYou () {
    this.closeSheet()
    this.youPanel.hidden = false
    this.youButton.setAttribute('aria-expanded', 'true')
  }

  /** Close the "you" menu; `refocus`: put focus back on its button. */
  closeYou (refocus) {
    this.youPanel.hidden = true
    this.youButton.setAttribute('aria-expanded', 'false')
    if (refocus) this.youButton.focus()
  }

  /** Your colour (the roster's), on your avatar in the header. */
  showColour (colour) {
    this.avatar.className = 'rt-avatar ' + colourClass(colour)
  }

  // Banners

  /** The spotlight banner: who has it, or hidden. */
  showSpotlight (person) {
    this.banner.hidden = !person
    this.banner.textContent = person ? t('room.spotlight', { name: person.name }) : ''
  }
}
