// The version history of a document (facilitators): save a version, export or
// restore a saved one.

import { doc } from './api.js'
import { confirmDialog } from './dialogs.js'
import { announce, h, replace } from './dom.js'
import { formatDateTime, t } from './i18n.js'

const REASONS = {
  manual: 'versions.reasonManual',
  lock: 'versions.reasonLock',
  session: 'versions.reasonSession',
  restore: 'versions.reasonRestore'
}

function reason (key) {
  return REASONS[key] ? t(REASONS[key]) : key
}

/** Open the version history of the document called `name` as a modal dialog. */
export async function versionsDialog (api, name) {
  const list = h('ul', { class: 'rt-versions', 'aria-label': t('versions.list') })
  const label = h('input', { id: 'version-name', maxlength: 200, placeholder: t('versions.namePlaceholder') })
  const fill = async () => {
    const { versions } = await api.get(doc(name) + '/versions')
    replace(list, versions.map((v) => h('li', {},
      h('span', { class: 'rt-version' },
        h('strong', {}, v.name), ' · ', reason(v.reason), ' · ',
        h('time', { datetime: v.created_at }, formatDateTime(v.created_at))),
      h('button', {
        type: 'button',
        'aria-label': t('versions.exportMarkdown', { name: v.name }),
        onclick: () => api.download(`${doc(name)}/versions/${v.id}/export?format=markdown`).catch((e) => announce(e.message))
      }, t('versions.markdown')),
      h('button', {
        type: 'button',
        'aria-label': t('versions.exportHtml', { name: v.name }),
        onclick: () => api.download(`${doc(name)}/versions/${v.id}/export?format=html`).catch((e) => announce(e.message))
      }, t('versions.html')),
      h('button', {
        type: 'button',
        'aria-label': t('versions.restoreNamed', { name: v.name }),
        onclick: async () => {
          const sure = await confirmDialog({
            title: t('versions.restoreTitle', { name: v.name }),
            message: t('versions.restoreMessage'),
            confirmLabel: t('versions.restore')
          })
          if (!sure) return
          await api.post(`${doc(name)}/versions/${v.id}/restore`).catch((e) => announce(e.message))
          await fill()
        }
      }, t('versions.restore')))))
    if (!versions.length) list.append(h('li', { class: 'rt-empty' }, t('versions.none')))
  }
  const dialog = h('dialog', { class: 'rt-dialog rt-versions-dialog', 'aria-labelledby': 'versions-title' },
    h('h2', { id: 'versions-title' }, t('versions.title', { name })),
    h('form', {
      class: 'rt-version-save',
      onsubmit: async (event) => {
        event.preventDefault()
        await api.post(doc(name) + '/versions', { name: label.value || t('versions.defaultName') }).catch((e) => announce(e.message))
        label.value = ''
        await fill()
      }
    }, h('label', { for: 'version-name' }, t('versions.name')), label,
    h('button', { type: 'submit' }, t('versions.save'))),
    list,
    h('div', { class: 'rt-dialog-actions' },
      h('button', { type: 'button', class: 'rt-primary', onclick: () => dialog.close() }, t('versions.close'))))
  document.body.append(dialog)
  dialog.addEventListener('close', () => dialog.remove())
  dialog.showModal()
  await fill()
}
