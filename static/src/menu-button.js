// A button that opens a menu (the WAI-ARIA menu button pattern), used for Export and
// for the toolbar's "More": the menu opens below the button; arrow keys, Home and End
// move between its items, Escape closes it and gives focus back to the button, and a
// click elsewhere or Tab away closes it.

import { h, replace } from './dom.js'
import { icon } from './icons.js'

let made = 0

/**
 * A menu button. `button`: the attributes of the button (aria-label, title, class...)
 * and `content`: its children; `items()`: the menu's entries, asked for at each
 * opening: [{label, icon, run, checked}] (checked: true/false makes a checkbox item,
 * undefined a plain one), or {separator: true}. Returns {element, button, close}.
 */
export function menuButton ({ button: attrs, content, items }) {
  const id = `rt-menu-${++made}`
  const menu = h('div', { class: 'rt-menu', role: 'menu', id, hidden: true })
  const button = h('button', {
    type: 'button',
    ...attrs,
    'aria-haspopup': 'menu',
    'aria-expanded': 'false',
    'aria-controls': id,
    onclick: () => (menu.hidden ? open(0) : close(true)),
    onkeydown: (event) => {
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault()
        event.stopPropagation()
        open(event.key === 'ArrowUp' ? -1 : 0)
      }
    }
  }, content)
  menu.setAttribute('aria-labelledby', button.id || (button.id = id + '-button'))
  const element = h('span', { class: 'rt-menu-wrap' }, button, menu)

  const entries = () => [...menu.querySelectorAll('[role^="menuitem"]')]
  const focusItem = (index) => {
    const all = entries()
    if (!all.length) return
    all[(index + all.length) % all.length].focus()
  }

  function onOutside (event) {
    if (!element.contains(event.target)) close(false)
  }

  function open (index) {
    replace(menu, items().map((item) => {
      if (item.separator) return h('div', { role: 'separator', class: 'rt-menu-separator' })
      const checkable = typeof item.checked === 'boolean'
      return h('button', {
        type: 'button',
        role: checkable ? 'menuitemcheckbox' : 'menuitem',
        'aria-checked': checkable ? String(item.checked) : null,
        tabindex: '-1',
        class: 'rt-menu-item',
        disabled: item.disabled,
        dataset: item.id ? { tool: item.id } : undefined,
        onclick: () => { close(false); item.run() }
      }, item.icon ? icon(item.icon) : null, h('span', {}, item.label))
    }))
    menu.hidden = false
    button.setAttribute('aria-expanded', 'true')
    document.addEventListener('pointerdown', onOutside, true)
    focusItem(index)
  }

  function close (refocus) {
    if (menu.hidden) return
    menu.hidden = true
    button.setAttribute('aria-expanded', 'false')
    document.removeEventListener('pointerdown', onOutside, true)
    if (refocus) button.focus()
  }

  menu.addEventListener('keydown', (event) => {
    const all = entries()
    const at = all.indexOf(document.activeElement)
    const moves = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: -1 }
    if (event.key in moves) {
      event.preventDefault()
      event.stopPropagation()
      focusItem(moves[event.key])
    } else if (event.key === 'Escape') {
      event.preventDefault()
      event.stopPropagation()
      close(true)
    } else if (event.key === 'Tab') {
      close(false)
    } else if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
      event.stopPropagation()
    }
  })
  element.addEventListener('focusout', (event) => {
    if (event.relatedTarget && !element.contains(event.relatedTarget)) close(false)
  })
  return { element, button, close }
}
