/**
 * Finding Campaign records by a business key (the "CRM ID" a mapping writes).
 *
 * Campaign has no upsert and its metadata does not say whether a field is unique
 * (CS help/api/using/metadata-mechanism.md), so a key is found through a filter the resource
 * offers: the mapping's Campaign key is a field plus the one-parameter filter that finds records
 * by it. Custom filters get parameter names Campaign generates (`amount_parameter`) and need not
 * be named after the field (CS help/api/using/filtering.md,
 * help/developing/using/uc-calling-resource-id-key.md), so the filter is chosen by the user or
 * matched by name, and checked against the data before anything is written.
 */
import type { CampaignClient, CampaignRecord, ResourcePath } from './client';
import type { CampaignFilterInfo, CampaignResourceType } from './metadata';

export interface KeyAccess {
	/** e.g. `profileAndServicesExt/profile`. */
	path: ResourcePath;
	/** The key field. */
	key: string;
	filter: CampaignFilterInfo;
	/** The filter's one parameter, which receives the key value. */
	parameter: string;
	/**
	 * Campaign refuses a second record with this key (an identification key or unique index the
	 * user declared): a create may go without a lookup first.
	 */
	unique: boolean;
}

export interface KeyAccessOptions {
	/** The filter chosen in the settings (its name); empty: the one named after the key. */
	filter?: string;
	/** The user declared that Campaign enforces the key's uniqueness. */
	unique?: boolean;
	/**
	 * Check on a record already in Campaign that the filter finds it by its key, so a filter that
	 * tests another field cannot make every lookup come back empty (and every record a duplicate).
	 */
	verify?: boolean;
	/** The settings that choose the key and its filter, as messages name them. */
	settings?: KeySettings;
}

/** Where the user chooses the key field and its filter. */
export interface KeySettings {
	key: string;
	filter: string;
}

const MAPPING_SETTINGS: KeySettings = {
	key: 'Campaign primary key in Apply Field Mapping',
	filter: 'Campaign key filter in Apply Field Mapping',
};

/** Filters that take exactly one parameter: those a key value can be passed to. */
export function oneParameterFilters(filters: readonly CampaignFilterInfo[]): CampaignFilterInfo[] {
	return filters.filter((f) => f.parameters.length === 1);
}

const simplify = (name: string) => name.toLowerCase().replace(/_/g, '');

/**
 * The one-parameter filters whose name or parameter names the key: `byExternalId`, `externalId`,
 * `?externalId=` or `?externalId_parameter=` for the key `externalId` (case and `_` ignored).
 */
export function filtersNamedAfter(
	filters: readonly CampaignFilterInfo[],
	key: string,
): CampaignFilterInfo[] {
	const k = simplify(key);
	const names = new Set([`by${k}`, k]);
	const parameters = new Set([k, `${k}parameter`]);
	return oneParameterFilters(filters).filter(
		(f) =>
			names.has(simplify(f.name)) ||
			names.has(simplify(f.segment)) ||
			parameters.has(simplify(f.parameters[0])),
	);
}

/** The one filter named after the key (an exact `by<Key>` wins over looser matches), if any. */
export function filterNamedAfter(
	filters: readonly CampaignFilterInfo[],
	key: string,
): CampaignFilterInfo | undefined {
	const named = filtersNamedAfter(filters, key);
	const exact = named.filter((f) => simplify(f.name) === simplify(`by${key}`));
	return named.length === 1 ? named[0] : exact.length === 1 ? exact[0] : undefined;
}

function describe(filter: CampaignFilterInfo): string {
	return `${filter.name} (?${filter.parameters.join('&')})`;
}

/** The filter that finds `resource` records by `key`: the chosen one, or the one named after it. */
export function chooseKeyFilter(
	filters: readonly CampaignFilterInfo[],
	resource: string,
	key: string,
	chosen?: string,
	settings: KeySettings = MAPPING_SETTINGS,
): CampaignFilterInfo {
	const usable = oneParameterFilters(filters);
	if (chosen) {
		const filter = filters.find((f) => f.name === chosen || f.segment === chosen);
		if (!filter) {
			throw new Error(
				`The Campaign table "${resource}" has no filter "${chosen}": choose the ${settings.filter} again (filters: ${usable.map(describe).join(', ') || 'none'})`,
			);
		}
		if (filter.parameters.length !== 1) {
			throw new Error(
				`The Campaign filter "${chosen}" of "${resource}" takes ${filter.parameters.length} parameters (${filter.parameters.join(', ') || 'none'}); a key filter takes one, the key value`,
			);
		}
		return filter;
	}
	const byName = filterNamedAfter(filters, key);
	if (byName) return byName;
	const named = filtersNamedAfter(filters, key);
	if (!named.length) {
		throw new Error(
			`The Campaign field "${resource}.${key}" has no filter named after it to find records by: define a filter on the resource in Campaign (e.g. by${key[0].toUpperCase()}${key.slice(1)} with one parameter on ${key}) and choose it as the ${settings.filter}, or choose another ${settings.key} (one-parameter filters: ${usable.map(describe).join(', ') || 'none'})`,
		);
	}
	throw new Error(
		`Several Campaign filters of "${resource}" are named after "${key}" (${named.map(describe).join(', ')}): choose one as the ${settings.filter}`,
	);
}

/** Key values as Campaign may store them: a data policy can change case or trim blanks. */
const canonical = (value: unknown) =>
	value === null || value === undefined ? '' : String(value).trim().toLowerCase();

/** Whether a record found by the filter holds the key value (records without the field count). */
function holdsKey(record: CampaignRecord, key: string, value: string): boolean {
	return !(key in record) || canonical(record[key]) === canonical(value);
}

/**
 * The records with this key value. Records the filter returns that hold another value are left
 * out (a filter may match more loosely than equality, e.g. a text search); every record that
 * holds it is returned, so duplicates are seen.
 */
export async function findByKey(
	client: CampaignClient,
	access: KeyAccess,
	value: unknown,
): Promise<CampaignRecord[]> {
	const text = String(value);
	const found = await client.findByFilter(access.path, access.filter, {
		[access.parameter]: text,
	});
	return found.filter((record) => holdsKey(record, access.key, text));
}

/** Checks the key filter on a record that holds a key; false when no record holds one yet. */
async function verifyKeyFilter(
	client: CampaignClient,
	access: KeyAccess,
	resource: string,
	settings: KeySettings,
): Promise<boolean> {
	let sample: CampaignRecord | undefined;
	for await (const page of client.listPages(access.path, { lineCount: 20 })) {
		sample = page.records.find((r) => canonical(r[access.key]) !== '');
		break;
	}
	// An empty resource holds nothing a lookup could miss.
	if (!sample) return false;
	const value = String(sample[access.key]);
	const found = await findByKey(client, access, value);
	if (!found.some((r) => access.key in r && canonical(r[access.key]) === canonical(value))) {
		throw new Error(
			`The Campaign filter "${access.filter.name}" does not find "${resource}" records by ${access.key}: it found nothing for ${access.key} = ${JSON.stringify(value)}, which a record holds. Choose the filter that tests ${access.key} as the ${settings.filter}`,
		);
	}
	return true;
}

/** How records of a resource are found by a key field, checked against its metadata. */
export async function resolveKeyAccess(
	client: CampaignClient,
	path: ResourcePath,
	key: string,
	options: KeyAccessOptions = {},
	type?: CampaignResourceType,
): Promise<KeyAccess> {
	const resource = path.split('/').pop() ?? path;
	const settings = options.settings ?? MAPPING_SETTINGS;
	const metadata = type ?? (await client.resourceType(path));
	if (!metadata.fields.some((f) => f.name === key)) {
		throw new Error(
			`The Campaign table "${resource}" has no field "${key}": choose the ${settings.key} again`,
		);
	}
	const filter = chooseKeyFilter(
		await client.filters(metadata),
		resource,
		key,
		options.filter,
		settings,
	);
	const access: KeyAccess = {
		path,
		key,
		filter,
		parameter: filter.parameters[0],
		unique: options.unique === true,
	};
	if (options.verify) {
		// A check made on a record is kept with the metadata it rests on; one that found no record to
		// check is made again next time.
		const check = `${path}\u0000${key}\u0000${filter.segment}\u0000${access.parameter}`;
		const checked = await client.cachedMetadata('keyFilterChecked', check, () =>
			verifyKeyFilter(client, access, resource, settings),
		);
		if (!checked) client.forgetMetadata('keyFilterChecked', check);
	}
	return access;
}
