// The versions of a document (facilitators): save one, export or restore a saved one.

import { doc } from './api.js'
import { announce, h, replace } from './dom.js'

export async function versionsDialog (api, name) {
  const list = h('ul', { class: 'rt-versions' })
  const label = h('input', { id: 'version-name', maxlength: 200, placeholder: 'e.g. After session 1' })
  const fill = async () => {
    const { versions } = await api.get(doc(name) + '/versions')
    replace(list, versions.map((v) => h('li', {},
      h('span', {}, v.name, ' · ', v.reason, ' · ', new Date(v.created_at).toLocaleString()),
      h('button', { onclick: () => api.download(`${doc(name)}/versions/${v.id}/export?format=markdown`) }, 'Markdown'),
      h('button', { onclick: () => api.download(`${doc(name)}/versions/${v.id}/export?format=html`) }, 'HTML'),
      h('button', {
        onclick: async () => {
          if (!confirm(`Restore “${v.name}”? The current text is saved as a version first.`)) return
          await api.post(`${doc(name)}/versions/${v.id}/restore`).catch((e) => announce(e.message))
          await fill()
        }
      }, 'Restore'))))
    if (!versions.length) list.append(h('li', {}, 'No versions yet.'))
  }
  const dialog = h('dialog', { class: 'rt-dialog', 'aria-labelledby': 'versions-title' },
    h('h2', { id: 'versions-title' }, `Versions of ${name}`),
    h('form', {
      onsubmit: async (event) => {
        event.preventDefault()
        await api.post(doc(name) + '/versions', { name: label.value || 'Saved version' }).catch((e) => announce(e.message))
        label.value = ''
        await fill()
      }
    }, h('label', { for: 'version-name' }, 'Name'), label, h('button', { type: 'submit' }, 'Save version')),
    list,
    h('button', { class: 'rt-primary', onclick: () => dialog.close() }, 'Close'))
  document.body.append(dialog)
  dialog.addEventListener('close', () => dialog.remove())
  dialog.showModal()
  await fill()
}
