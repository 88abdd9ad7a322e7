// The version history of a document: everyone who reads the document may compare a
// saved version with another or with the current text, and export one; facilitators
// also save versions and restore one.

import { doc } from './api.js'
import { confirmDialog } from './dialogs.js'
import { announce, h, replace } from './dom.js'
import { formatDateTime, t } from './i18n.js'
import { changedBy, diffSections, hasChanges, headingTag, mergeRuns, personOf } from './logic/authors.js'
import { colourClass } from './logic/colours.js'

const REASONS = {
  manual: 'versions.reasonManual',
  lock: 'versions.reasonLock',
  session: 'versions.reasonSession',
  restore: 'versions.reasonRestore'
}

const CURRENT = 'current'

function reason (key) {
  return REASONS[key] ? t(REASONS[key]) : key
}

/**
 * Open the version history of the document called `name` as a modal dialog.
 * manage: whether this person saves and restores versions (facilitators).
 */
export async function versionsDialog (api, name, { manage = true } = {}) {
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
        'aria-label': t('versions.compareNamed', { name: v.name }),
        onclick: () => compareDialog(api, name, v, versions)
      }, t('versions.compare')),
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
      manage && h('button', {
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
  const save = manage && h('form', {
    class: 'rt-version-save',
    onsubmit: async (event) => {
      event.preventDefault()
      await api.post(doc(name) + '/versions', { name: label.value || t('versions.defaultName') }).catch((e) => announce(e.message))
      label.value = ''
      await fill()
    }
  }, h('label', { for: 'version-name' }, t('versions.name')), label,
  h('button', { type: 'submit' }, t('versions.save')))
  const dialog = h('dialog', { class: 'rt-dialog rt-versions-dialog', 'aria-labelledby': 'versions-title' },
    h('h2', { id: 'versions-title' }, t('versions.title', { name })),
    save,
    list,
    h('div', { class: 'rt-dialog-actions' },
      h('button', { type: 'button', class: 'rt-primary', onclick: () => dialog.close() }, t('versions.close'))))
  document.body.append(dialog)
  dialog.addEventListener('close', () => dialog.remove())
  dialog.showModal()
  await fill()
}

/** A version as the picker names it: its name and when it was saved. */
function versionLabel (v) {
  return `${v.name} · ${formatDateTime(v.created_at)}`
}

/** One run of a diff: unchanged text, or <ins>/<del> in its writer's colour. */
function runElement (run, people) {
  if (run.change === 'same') return run.text
  const person = personOf(people, run.author)
  const who = person ? person.name : t('authors.unknown')
  const added = run.change === 'added'
  return h(added ? 'ins' : 'del', {
    class: 'rt-diff-run ' + (person ? colourClass(person.colour) : 'rt-author-unknown'),
    title: t(added ? 'compare.addedBy' : 'compare.removedBy', { name: who }),
    dataset: { author: run.author || '' }
  }, run.text)
}

/** A block of a diff as a heading, a code block or a paragraph (`tag` overrides). */
function blockElement (block, people, tag = null) {
  const runs = mergeRuns(block.runs).map((run) => runElement(run, people))
  const change = ' rt-diff-' + block.change + (block.quote ? ' rt-diff-quote' : '')
  if (tag) return h(tag, { class: 'rt-diff-block' + change }, runs)
  if (block.tag === 'heading') return h(headingTag(block.level), { class: 'rt-diff-block rt-diff-heading' + change }, runs)
  if (block.tag === 'codeBlock') return h('pre', { class: 'rt-diff-block' + change }, h('code', {}, runs))
  if (block.tag === 'horizontalRule') return h('hr', { class: 'rt-diff-block' + change })
  return h('p', { class: 'rt-diff-block' + change }, runs)
}

/** A diff (GET …/diff) as the document with its changes marked, or "No changes". */
function diffBody (diff) {
  if (!hasChanges(diff)) return [h('p', { class: 'rt-empty rt-compare-none' }, t('compare.none'))]
  return diffSections(diff.blocks).map((section) => section.kind === 'list'
    ? h(section.tag, { class: 'rt-diff-list' }, section.items.map(({ block, depth }) => {
      const item = blockElement(block, diff.people, 'li')
      item.classList.add('rt-diff-depth-' + Math.min(depth, 4))
      return item
    }))
    : blockElement(section.block, diff.people))
}

/** Who changed what: each person in their colour with the characters added and removed. */
function diffLegend (people) {
  if (!people.length) return []
  return [h('ul', { class: 'rt-compare-people', 'aria-label': t('compare.people') },
    changedBy(people).map((p) => h('li', { class: 'rt-compare-person' },
      h('span', { class: 'rt-authors-swatch ' + colourClass(p.colour), 'aria-hidden': 'true' }),
      h('span', { class: 'rt-compare-name' }, p.name),
      ' ',
      h('span', { class: 'rt-compare-counts', 'aria-label': t('compare.countsSpoken', { added: p.added, removed: p.removed }) },
        t('compare.counts', { added: p.added, removed: p.removed })))))]
}

/**
 * Compare version `version` of document `name` with the current text (or, as the
 * picker says, another of `versions`): a wide dialog (the whole screen on a phone).
 */
export async function compareDialog (api, name, version, versions) {
  const picker = h('select', { id: 'compare-to' },
    h('option', { value: CURRENT }, t('compare.current')),
    versions.filter((v) => v.id !== version.id).map((v) => h('option', { value: String(v.id) }, versionLabel(v))))
  const legendRoot = h('div', { class: 'rt-compare-legend' })
  const body = h('div', { class: 'rt-compare-body', 'aria-live': 'polite', 'aria-busy': 'true' },
    h('p', { class: 'rt-note' }, t('compare.loading')))
  const url = (format) => `${doc(name)}/diff?from=${version.id}&to=${picker.value}` + (format ? `&format=${format}` : '')
  const download = h('button', {
    type: 'button',
    onclick: () => api.download(url('html')).catch((e) => announce(e.message))
  }, t('compare.download'))
  let asked = 0
  const load = async () => {
    const mine = ++asked
    body.setAttribute('aria-busy', 'true')
    try {
      const diff = await api.get(url())
      if (mine !== asked) return
      replace(legendRoot, diffLegend(diff.people))
      replace(body, diffBody(diff))
    } catch (error) {
      if (mine !== asked) return
      replace(legendRoot)
      replace(body, h('p', { class: 'rt-error', role: 'alert' }, error.message))
    } finally {
      if (mine === asked) body.setAttribute('aria-busy', 'false')
    }
  }
  picker.addEventListener('change', load)
  const dialog = h('dialog', { class: 'rt-dialog rt-compare-dialog', 'aria-labelledby': 'compare-title' },
    h('h2', { id: 'compare-title' }, t('compare.title', { name: version.name })),
    h('div', { class: 'rt-compare-bar' },
      h('p', { class: 'rt-compare-from' }, t('compare.from', { name: versionLabel(version) })),
      h('label', { for: 'compare-to' }, t('compare.to')),
      picker,
      download),
    legendRoot,
    body,
    h('div', { class: 'rt-dialog-actions' },
      h('button', { type: 'button', class: 'rt-primary', onclick: () => dialog.close() }, t('compare.close'))))
  document.body.append(dialog)
  dialog.addEventListener('close', () => dialog.remove())
  dialog.showModal()
  await load()
}
