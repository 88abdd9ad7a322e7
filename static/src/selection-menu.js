// The small menu by selected text: Comment, Ask and, for those who may edit, bold,
// italic and link. It shows while a non-empty selection is in the editor (made with a
// mouse, a finger or the keyboard) and hides when the selection collapses, on Escape,
// or when focus leaves the editor for somewhere outside the menu.
//
// On a desktop it floats just above the selection (below it when there is no room
// above). On a phone (narrow screen or coarse pointer) it docks full width at the bottom
// of the visible screen, above the on-screen keyboard: the phone's own selection
// handles and copy/paste menu sit right at the selection, and would cover it there.
// Alt+F10 in the editor moves focus into the menu; arrow keys move along it.

import { posToDOMRect } from '@tiptap/core'

import { h, replace } from './dom.js'
import { t } from './i18n.js'
import { icon } from './icons.js'

const DOCKED = '(max-width: 760px), (pointer: coarse)'
const MARGIN = 8

export class SelectionMenu {
  /**
   * tools(): the buttons to offer for the open document now, [{id, label, icon, text,
   * title, primary, run, active}] (`text`: show the label beside the icon; `active()`:
   * pressed state). With none, the menu stays hidden. `avoid`: an element the floating
   * menu must not cover (the sticky toolbar).
   */
  constructor ({ tools, avoid }) {
    this.tools = tools
    this.avoid = avoid
    this.editor = null
    this.dom = null
    this.built = ''
    this.dismissed = null
    this.pointerDown = false
    this.frame = 0
    this.buttons = []
    this.active = []
    this.element = h('div', {
      class: 'rt-selection-menu',
      role: 'toolbar',
      'aria-label': t('selection.label'),
      hidden: true,
      // Pressing a button must not take focus (and the selection) from the editor.
      onmousedown: (event) => event.preventDefault(),
      onkeydown: (event) => this.onMenuKey(event)
    })
    document.body.append(this.element)
    this.schedule = () => {
      if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.refresh() })
    }
    this.place = () => this.position()
    this.onBlur = ({ event }) => {
      if (event && event.relatedTarget && this.element.contains(event.relatedTarget)) return
      this.schedule()
    }
    this.onEditorKey = (event) => {
      if (event.key === 'Escape' && !this.element.hidden) {
        this.dismiss()
      } else if (event.key === 'F10' && event.altKey && !this.element.hidden) {
        event.preventDefault()
        const first = this.buttons.find((b) => !b.disabled)
        if (first) first.focus()
      }
    }
    this.onEditorPointer = () => {
      this.pointerDown = true
      this.hide()
    }
    const release = () => {
      if (!this.pointerDown) return
      this.pointerDown = false
      this.schedule()
    }
    addEventListener('pointerup', release, true)
    addEventListener('pointercancel', release, true)
    document.addEventListener('selectionchange', this.schedule)
    document.addEventListener('scroll', this.place, { capture: true, passive: true })
    addEventListener('resize', this.place)
    if (window.visualViewport) {
      visualViewport.addEventListener('resize', this.place)
      visualViewport.addEventListener('scroll', this.place)
    }
  }

  /** Follow this DocumentEditor (the one open now). */
  attach (documentEditor) {
    this.detach()
    this.editor = documentEditor
    const editor = documentEditor.editor
    editor.on('transaction', this.schedule)
    editor.on('focus', this.schedule)
    editor.on('blur', this.onBlur)
    this.dom = editor.view.dom
    this.dom.addEventListener('keydown', this.onEditorKey)
    this.dom.addEventListener('pointerdown', this.onEditorPointer)
    this.refresh()
  }

  detach () {
    if (!this.editor) return
    const editor = this.editor.editor
    editor.off('transaction', this.schedule)
    editor.off('focus', this.schedule)
    editor.off('blur', this.onBlur)
    this.dom.removeEventListener('keydown', this.onEditorKey)
    this.dom.removeEventListener('pointerdown', this.onEditorPointer)
    this.editor = null
    this.dom = null
    this.hide()
  }

  /** Whether the selection is the editor's to act on: it has focus, or (read-only) holds the page's selection. */
  selectionHere (editor) {
    if (this.element.contains(document.activeElement)) return true
    if (editor.view.hasFocus()) return true
    if (editor.isEditable) return false
    const selection = getSelection()
    return Boolean(selection && !selection.isCollapsed &&
      editor.view.dom.contains(selection.anchorNode) && editor.view.dom.contains(selection.focusNode))
  }

  /** Show, fill and place the menu, or hide it, for the selection as it is now. */
  refresh () {
    const editor = this.editor && this.editor.editor
    if (!editor || editor.isDestroyed || !editor.isInitialized) return this.hide()
    const { from, to, empty } = editor.state.selection
    const key = `${from}:${to}`
    if (this.dismissed !== null && this.dismissed !== key) this.dismissed = null
    const text = empty ? '' : editor.state.doc.textBetween(from, to, ' ').trim()
    if (!text || this.pointerDown || this.dismissed !== null || !this.selectionHere(editor)) return this.hide()
    const tools = this.tools()
    if (!tools.length) return this.hide()
    const signature = tools.map((tool) => tool.id).join(' ')
    if (signature !== this.built) this.build(tools)
    this.update()
    this.element.hidden = false
    this.position()
  }

  build (tools) {
    this.built = tools.map((tool) => tool.id).join(' ')
    this.active = []
    this.buttons = tools.map((tool) => {
      const button = h('button', {
        type: 'button',
        class: 'rt-selection-tool' + (tool.primary ? ' rt-primary' : ''),
        'aria-label': tool.text ? null : tool.label,
        title: tool.title || tool.label,
        'aria-pressed': tool.active ? 'false' : null,
        dataset: { tool: tool.id },
        onclick: () => tool.run()
      }, icon(tool.icon), tool.text ? h('span', {}, tool.label) : null)
      if (tool.active) this.active.push([button, tool.active])
      return button
    })
    const discussion = tools.filter((tool) => tool.text).length
    replace(this.element,
      this.buttons.slice(0, discussion),
      discussion && discussion < tools.length ? h('span', { class: 'rt-selection-divider', 'aria-hidden': 'true' }) : null,
      this.buttons.slice(discussion))
    this.buttons.forEach((button, i) => { button.tabIndex = i === 0 ? 0 : -1 })
  }

  /** Keep the formatting buttons' pressed state in step with the selection. */
  update () {
    for (const [button, active] of this.active) button.setAttribute('aria-pressed', String(Boolean(active())))
  }

  hide () {
    if (this.element.hidden) return
    const hadFocus = this.element.contains(document.activeElement)
    this.element.hidden = true
    if (hadFocus && this.editor && !this.editor.editor.isDestroyed) this.editor.editor.commands.focus()
  }

  /** Escape: hidden until the selection changes. */
  dismiss () {
    const { from, to } = this.editor.editor.state.selection
    this.dismissed = `${from}:${to}`
    this.hide()
  }

  onMenuKey (event) {
    const at = this.buttons.indexOf(document.activeElement)
    const moves = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: -1 }
    if (event.key === 'Escape') {
      event.preventDefault()
      this.dismiss()
      if (this.editor) this.editor.editor.commands.focus()
    } else if (event.key in moves && at >= 0) {
      event.preventDefault()
      const next = this.buttons[(moves[event.key] + this.buttons.length) % this.buttons.length]
      for (const button of this.buttons) button.tabIndex = button === next ? 0 : -1
      next.focus()
    }
  }

  position () {
    if (this.element.hidden || !this.editor) return
    if (this.editor.editor.isDestroyed) return this.hide()
    const el = this.element
    const docked = matchMedia(DOCKED).matches
    el.classList.toggle('rt-docked', docked)
    const viewport = window.visualViewport
    if (docked) {
      // The bottom of what is visible: above the keyboard, and above the bottom bar
      // when that shows (the keyboard, when open, covers it).
      let bottom = viewport ? viewport.offsetTop + viewport.height : innerHeight
      const bar = document.querySelector('.rt-bottom')
      const barBox = bar && bar.getBoundingClientRect()
      if (barBox && barBox.height && barBox.top > 0 && barBox.top < bottom) bottom = barBox.top
      el.style.left = (viewport ? viewport.offsetLeft : 0) + 'px'
      el.style.width = (viewport ? viewport.width : innerWidth) + 'px'
      el.style.top = Math.max(0, bottom - el.offsetHeight) + 'px'
      el.classList.remove('rt-offscreen')
      return
    }
    el.style.width = ''
    const view = this.editor.editor.view
    const { from, to } = view.state.selection
    const rect = posToDOMRect(view, from, to)
    const avoid = this.avoid && this.avoid.getBoundingClientRect()
    const ceiling = Math.max(MARGIN, avoid && avoid.height ? avoid.bottom + MARGIN : 0)
    const width = el.offsetWidth
    const height = el.offsetHeight
    let top = rect.top - height - MARGIN
    if (top < ceiling) top = rect.bottom + MARGIN
    const left = Math.min(Math.max(rect.left + rect.width / 2 - width / 2, MARGIN), innerWidth - width - MARGIN)
    el.style.left = Math.max(MARGIN, left) + 'px'
    el.style.top = top + 'px'
    // Scrolled out of sight: hidden until the selection is back in view.
    el.classList.toggle('rt-offscreen', rect.bottom < ceiling || rect.top > innerHeight)
  }
}
