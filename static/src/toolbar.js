// The toolbar above the editor, and the menu by selected text (selection-menu.js).
//
// The toolbar is one row of icon buttons, each with its name and, as a tooltip, its
// keyboard shortcut, in groups: text (bold, italic, link), blocks, undo and redo; then
// the discussion's Comment and Ask, with their names shown; then Export (a menu:
// Markdown, HTML, print), Authors (a switch: who wrote what), for facilitators Lock, and
// Versions (facilitators also save and restore there). Whatever does not fit
// the row moves into a "More" menu, least used first; Comment and Ask never do. Arrow
// keys move along the toolbar and Tab leaves it (the WAI-ARIA toolbar pattern). Those
// whose role cannot edit see no formatting at all; in a locked document it is disabled.
// On a phone the toolbar sticks to the top of the visible screen (styles/toolbar.css),
// kept below the top of the visual viewport when the on-screen keyboard moves it.

import { doc } from './api.js'
import { promptDialog } from './dialogs.js'
import { h, replace } from './dom.js'
import { exportDocument, FORMATS, PrintHeading, showConfirmation } from './export.js'
import { t } from './i18n.js'
import { icon } from './icons.js'
import { linkTarget } from './logic/links.js'
import { mayComment } from './logic/permissions.js'
import { fitTools } from './logic/toolbar-fit.js'
import { menuButton } from './menu-button.js'
import { SelectionMenu } from './selection-menu.js'
import { versionsDialog } from './versions.js'

const PHONE = '(max-width: 760px)'
const MAC = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent)

/** A TipTap shortcut ("Mod-Shift-8") as people read it: "Ctrl+Shift+8", or "⌘⇧8" on a Mac. */
function shortcut (keys) {
  const names = MAC ? { Mod: '⌘', Shift: '⇧', Alt: '⌥' } : { Mod: 'Ctrl', Shift: 'Shift', Alt: 'Alt' }
  return keys.split('-').map((key) => names[key] || key.toUpperCase()).join(MAC ? '' : '+')
}

/** A tool's tooltip: its name, with its shortcut when it has one. */
function tip (tool) {
  const label = tool.hint || tool.label
  return tool.keys ? t('toolbar.withKeys', { label, keys: shortcut(tool.keys) }) : label
}

export class Toolbar {
  /**
   * root: the toolbar element; room: the room's title (printed above the document);
   * getEditor(): the open DocumentEditor; onComment(), onAsk(): start a comment on the
   * selection, a question; canAsk(): whether this person may ask now.
   */
  constructor ({ root, api, me, room, getEditor, onComment, onAsk, canAsk }) {
    this.root = root
    this.api = api
    this.me = me
    this.getEditor = getEditor
    this.onComment = onComment
    this.onAsk = onAsk
    this.canAsk = canAsk || (() => true)
    this.pressed = []
    this.items = []
    this.focusedId = null
    this.attached = null
    this.printHeading = new PrintHeading(room)
    root.after(this.printHeading.element)
    this.selectionMenu = new SelectionMenu({ tools: () => this.selectionTools(), avoid: root })
    root.addEventListener('keydown', (event) => this.onKey(event))
    root.addEventListener('focusin', (event) => this.onFocus(event))
    this.observer = new ResizeObserver(() => this.fit())
    this.observer.observe(root)
    keepInVisualViewport(root)
  }

  /** The commands, in toolbar order. `drop`: when it moves to "More" (1 first, 0 never). */
  tools (current) {
    const editor = this.getEditor()
    const e = () => this.getEditor().editor
    const format = (id, iconName, keys, command, active, group, drop) => ({
      id, icon: iconName, keys, group, drop, label: t('toolbar.' + id), format: true,
      run: () => command(e().chain().focus()).run(),
      active: active ? () => e().isActive(active) : null
    })
    const tools = []
    if (this.me.can.edit) {
      tools.push(
        format('bold', 'bold', 'Mod-B', (c) => c.toggleBold(), 'bold', 'text', 13),
        format('italic', 'italic', 'Mod-I', (c) => c.toggleItalic(), 'italic', 'text', 12),
        { ...format('link', 'link', 'Mod-K', null, 'link', 'text', 9), run: () => this.editLink() },
        format('heading', 'heading', 'Mod-Alt-2', (c) => c.toggleHeading({ level: 2 }), 'heading', 'block', 10),
        format('list', 'list', 'Mod-Shift-8', (c) => c.toggleBulletList(), 'bulletList', 'block', 11),
        format('numbered', 'numbered', 'Mod-Shift-7', (c) => c.toggleOrderedList(), 'orderedList', 'block', 3),
        format('checklist', 'checklist', 'Mod-Shift-9', (c) => c.toggleTaskList(), 'taskList', 'block', 2),
        format('quote', 'quote', 'Mod-Shift-B', (c) => c.toggleBlockquote(), 'blockquote', 'block', 4),
        format('undo', 'undo', 'Mod-Z', (c) => c.undo(), null, 'history', 8),
        format('redo', 'redo', 'Mod-Shift-Z', (c) => c.redo(), null, 'history', 1))
    }
    if (mayComment(this.me.can, editor.mentorId === this.me.id)) tools.push(this.commentTool())
    tools.push(this.askTool())
    tools.push({
      id: 'export',
      icon: 'export',
      label: t('toolbar.export'),
      hint: t('toolbar.exportHint'),
      group: 'document',
      drop: this.me.can.moderate ? 7 : 0.7,
      menu: () => this.exportItems(editor.name)
    })
    tools.push({
      id: 'authors',
      icon: 'authors',
      label: t('toolbar.authors'),
      hint: t('toolbar.authorsHint'),
      group: 'document',
      // A writer's formatting comes first: these are the first to go into "More".
      drop: this.me.can.moderate ? 5.5 : 0.6,
      active: () => this.getEditor().authors.on,
      run: () => { this.getEditor().authors.toggle(); this.update() }
    })
    if (this.me.can.moderate) {
      const locked = Boolean(current.locked)
      tools.push({
        id: 'lock',
        icon: locked ? 'unlock' : 'lock',
        label: t(locked ? 'toolbar.unlock' : 'toolbar.lock'),
        hint: t(locked ? 'toolbar.unlockHint' : 'toolbar.lockHint'),
        group: 'document',
        drop: 6,
        pressed: locked,
        run: () => this.toggleLock(current)
      })
    }
    // Everyone who reads the document may read and compare its versions; only
    // facilitators save and restore them.
    tools.push({
      id: 'versions',
      icon: 'versions',
      label: t('toolbar.versions'),
      hint: t('toolbar.versionsHint'),
      group: 'document',
      drop: this.me.can.moderate ? 5 : 0.5,
      run: () => versionsDialog(this.api, editor.name, { manage: this.me.can.moderate })
    })
    return tools
  }

  commentTool () {
    return {
      id: 'comment', icon: 'comment', label: t('toolbar.comment'), hint: t('toolbar.commentHint'),
      group: 'discussion', drop: 0, text: true, primary: true, run: () => this.onComment()
    }
  }

  askTool () {
    return {
      id: 'ask', icon: 'ask', label: t('toolbar.ask'), hint: t('toolbar.askHint'),
      group: 'discussion', drop: 0, text: true, run: () => this.onAsk()
    }
  }

  /** The selection menu's buttons: Comment and Ask when allowed, then inline formatting. */
  selectionTools () {
    const editor = this.getEditor()
    if (!editor) return []
    const tools = []
    if (mayComment(this.me.can, editor.mentorId === this.me.id)) tools.push(this.commentTool())
    if (this.canAsk()) tools.push(this.askTool())
    if (editor.editable) {
      const inline = this.tools({}).filter((tool) => tool.group === 'text')
      tools.push(...inline.map((tool) => ({ ...tool, title: tip(tool) })))
    }
    return tools.map((tool) => ({ ...tool, title: tool.title || tool.hint || tool.label }))
  }

  /** The Export menu's entries (also listed in "More" when Export is there). */
  exportItems (name, prefix = false) {
    const items = FORMATS.map(({ format, icon }) => ({
      id: 'export-' + format,
      icon,
      label: t((prefix ? 'export.as.' : 'export.') + format),
      run: () => exportDocument(this.api, name, format)
    }))
    items.push({ id: 'print', icon: 'print', label: t('export.print'), run: () => this.printHeading.print() })
    return items
  }

  /** Build the toolbar for the open document, whose list entry is `current`. */
  render (current) {
    const editor = this.getEditor()
    const can = editor.editable
    const focused = this.root.contains(document.activeElement) && document.activeElement.dataset.tool
    this.pressed = []
    this.items = []
    const groups = new Map()
    for (const tool of this.tools(current)) {
      const label = tool.text ? h('span', { class: 'rt-tool-label' }, tool.label) : null
      const attrs = {
        class: 'rt-tool' + (tool.primary ? ' rt-primary' : '') + (tool.text ? ' rt-tool-text' : ''),
        'aria-label': tool.text ? null : tool.label,
        title: tip(tool),
        dataset: { tool: tool.id }
      }
      let el, button
      if (tool.menu) {
        const menu = menuButton({ button: attrs, content: [icon(tool.icon)], items: tool.menu })
        el = menu.element
        button = menu.button
      } else {
        button = el = h('button', {
          type: 'button',
          ...attrs,
          'aria-pressed': tool.active ? 'false' : (tool.pressed === undefined ? null : String(tool.pressed)),
          disabled: tool.format && !can,
          onclick: () => tool.run()
        }, icon(tool.icon), label)
      }
      if (tool.active) this.pressed.push([button, tool.active])
      if (!groups.has(tool.group)) groups.set(tool.group, h('div', { class: 'rt-tool-group', dataset: { group: tool.group } }))
      groups.get(tool.group).append(el)
      this.items.push({ tool, el, button })
    }
    this.more = menuButton({
      button: { class: 'rt-tool', 'aria-label': t('toolbar.more'), title: t('toolbar.moreHint'), dataset: { tool: 'more' } },
      content: [icon('more')],
      items: () => this.moreItems()
    })
    replace(this.root, [...groups.values()], h('div', { class: 'rt-tool-group rt-tool-more' }, this.more.element))
    if (this.attached !== editor) {
      this.attached = editor
      this.selectionMenu.attach(editor)
      editor.editor.view.dom.addEventListener('keydown', (event) => {
        if (event.key.toLowerCase() === 'k' && (MAC ? event.metaKey : event.ctrlKey) && !event.altKey && !event.shiftKey) {
          event.preventDefault()
          this.editLink()
        }
      })
    }
    this.printHeading.show(editor.name)
    this.fit()
    this.update()
    // Rebuilt under the keyboard (Lock became Unlock): focus stays on the same command.
    const again = focused && this.reachable().find((b) => b.dataset.tool === focused)
    if (again) again.focus()
  }

  /** What "More" lists: the tools that did not fit the row. */
  moreItems () {
    const editor = this.getEditor()
    const items = []
    for (const { tool, el } of this.items) {
      if (!el.hidden) continue
      if (tool.menu) {
        if (items.length) items.push({ separator: true })
        items.push(...this.exportItems(editor.name, true))
        continue
      }
      items.push({
        id: tool.id,
        icon: tool.icon,
        label: tool.label,
        disabled: tool.format && !editor.editable,
        checked: tool.active ? Boolean(tool.active()) : tool.pressed,
        run: () => tool.run()
      })
    }
    return items
  }

  /** Show in the row what fits it; the rest goes to "More". */
  fit () {
    const root = this.root
    if (!this.more || !root.isConnected || !root.clientWidth) return
    const groups = [...root.querySelectorAll('.rt-tool-group')]
    for (const el of [...groups, ...this.items.map((i) => i.el)]) el.hidden = false
    const style = getComputedStyle(root)
    const available = root.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)
    const groupGap = parseFloat(style.columnGap) || 0
    const gap = parseFloat(getComputedStyle(groups[0]).columnGap) || 0
    const more = this.more.element.getBoundingClientRect().width
    const { shown, more: needed } = fitTools(this.items.map(({ tool, el }) => ({
      width: el.getBoundingClientRect().width, group: tool.group, drop: tool.drop
    })), available, { gap, groupGap, more })
    this.items.forEach((item, i) => { item.el.hidden = !shown[i] })
    this.more.element.hidden = !needed
    for (const group of groups) group.hidden = ![...group.children].some((child) => !child.hidden)
    this.rove()
  }

  /** The toolbar's buttons one can move to with the arrow keys, in order. */
  reachable () {
    return [...this.root.querySelectorAll('.rt-tool')].filter((b) => !b.disabled && b.getClientRects().length > 0)
  }

  /** One button of the toolbar is in the Tab order: the last one used, else the first. */
  rove (focused) {
    const reachable = this.reachable()
    const current = focused || reachable.find((b) => b.dataset.tool === this.focusedId) || reachable[0]
    for (const button of this.root.querySelectorAll('.rt-tool')) button.tabIndex = button === current ? 0 : -1
  }

  onFocus (event) {
    const button = event.target.closest('.rt-tool')
    if (!button || !this.root.contains(button)) return
    this.focusedId = button.dataset.tool
    this.rove(button)
  }

  onKey (event) {
    const reachable = this.reachable()
    const at = reachable.indexOf(document.activeElement)
    if (at < 0) return
    const moves = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: reachable.length - 1 }
    if (!(event.key in moves)) return
    event.preventDefault()
    reachable[(moves[event.key] + reachable.length) % reachable.length].focus()
  }

  /** Keep the formatting buttons' pressed state in step with the selection. */
  update () {
    const editor = this.getEditor()
    if (!editor || !editor.editor.isInitialized) return
    for (const [el, active] of this.pressed) el.setAttribute('aria-pressed', String(Boolean(active())))
    this.selectionMenu.update()
  }

  /** Add, change or remove the link on the selection: only web and email links are made. */
  async editLink () {
    const editor = this.getEditor()
    if (!editor || !editor.editable) return
    const e = editor.editor
    const current = e.getAttributes('link').href || ''
    const value = await promptDialog({
      title: t(current ? 'toolbar.linkEditTitle' : 'toolbar.linkTitle'),
      label: t(current ? 'toolbar.linkEditLabel' : 'toolbar.linkLabel'),
      confirmLabel: t(current ? 'toolbar.linkSave' : 'toolbar.linkAdd'),
      value: current,
      placeholder: 'https://'
    })
    if (this.getEditor() !== editor || e.isDestroyed) return
    // The closing dialog hands focus back to the editor with the page's selection
    // somewhere else: ProseMirror's own focus() puts its selection back on the page.
    e.view.focus()
    if (value === null) return
    if (value === '') {
      if (current) {
        e.chain().focus().extendMarkRange('link').unsetLink().run()
        showConfirmation(t('toolbar.linkRemoved'))
      }
    } else {
      const href = linkTarget(value)
      if (!href) {
        showConfirmation(t('toolbar.linkRefused'), { error: true })
      } else if (e.state.selection.empty && !current) {
        e.chain().focus().insertContent({ type: 'text', text: value, marks: [{ type: 'link', attrs: { href } }] }).run()
      } else {
        e.chain().focus().extendMarkRange('link').setLink({ href }).run()
      }
    }
  }

  async toggleLock (current) {
    try {
      await this.api.put(doc(current.name) + '/lock', { locked: !current.locked })
    } catch (error) {
      showConfirmation(error.message, { error: true })
    }
  }
}

/**
 * On a phone, keep `element` (sticky at the top of the page) inside the visual viewport:
 * when the on-screen keyboard opens, some browsers pan the visible part of the page down
 * inside the layout viewport, above which a sticky element would hide.
 */
function keepInVisualViewport (element) {
  const viewport = window.visualViewport
  if (!viewport) return
  let shift = 0
  const place = () => {
    const wanted = matchMedia(PHONE).matches ? viewport.offsetTop : 0
    if (wanted <= 0 && shift === 0) return
    const top = element.getBoundingClientRect().top - shift
    const next = wanted > 0 && top < wanted ? wanted - top : 0
    if (next === shift) return
    shift = next
    element.style.transform = shift ? `translateY(${shift}px)` : ''
  }
  viewport.addEventListener('resize', place)
  viewport.addEventListener('scroll', place)
  addEventListener('scroll', place, { passive: true })
}
