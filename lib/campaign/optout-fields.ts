/**
 * The profile's opt-out fields as an instance names them on the wire.
 *
 * The integration's pages name them `denyList…` (CS help/integrating/using/d365-acs-*.md), the
 * data-model page `blockList…` (CS help/developing/using/datamodel-profile.md): both are editorial
 * renames (2020) of the `blackList…` fields every public client of the live REST API reads and
 * writes, each with a `…LastModified` date. `ccpaOptOut` keeps its name
 * (CS help/api/using/managing-ccpa-opt-out.md). The UI speaks the spec's names; the wire speaks
 * whatever the profile's metadata has.
 */
import type { CampaignResourceType } from './metadata';

export interface OptOutWireField {
	/** The field as the instance names it, e.g. `blackListEmail`. */
	field: string;
	/** Its date of last change, e.g. `blackListEmailLastModified`, when the instance has one. */
	lastModified?: string;
}

/** The three spellings of the deny-list prefix, live API's first. */
const SPELLINGS = ['blackList', 'blockList', 'denyList'];

function spellingsOf(name: string): string[] {
	const prefix = SPELLINGS.find((p) => name.startsWith(p));
	if (!prefix) return [name];
	const suffix = name.slice(prefix.length);
	return SPELLINGS.map((p) => `${p}${suffix}`);
}

/**
 * Resolves opt-out field names (any spelling) to the fields of the profile's metadata. Throws,
 * naming every field it looked for, when one of them has no field or more than one spelling.
 */
export function resolveOptOutFields(
	profile: CampaignResourceType,
	names: readonly string[],
): Map<string, OptOutWireField> {
	const fields = new Set(profile.fields.map((f) => f.name));
	const resolved = new Map<string, OptOutWireField>();
	const problems: string[] = [];
	for (const name of new Set(names)) {
		const candidates = spellingsOf(name);
		const present = candidates.filter((c) => fields.has(c));
		if (present.length !== 1) {
			problems.push(
				present.length
					? `"${name}" matches several fields (${present.join(', ')})`
					: `"${name}" has no field (looked for ${candidates.join(', ')})`,
			);
			continue;
		}
		const wire: OptOutWireField = { field: present[0] };
		if (fields.has(`${present[0]}LastModified`)) wire.lastModified = `${present[0]}LastModified`;
		resolved.set(name, wire);
	}
	if (problems.length) {
		throw new Error(
			`The Campaign resource "${profile.name}" does not have the opt-out fields the mappings name: ${problems.join('; ')}. Check that the credential reaches a Campaign Standard profile resource`,
		);
	}
	return resolved;
}
