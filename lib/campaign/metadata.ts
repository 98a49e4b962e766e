/**
 * Campaign's metadata answers, read into what the nodes need. Pure: the client fetches, these read.
 *
 * - `GET …/resourceType/<resource>` answers `content` keyed by field (`apiName`, `type`, `resType`,
 *   `dataPolicy`, `category`, `resTarget` for links, `values` for enumerations) and
 *   `"filters": {"href": …}`: the filters are a second GET (CS help/api/using/metadata-mechanism.md).
 *   Nothing in it says whether a field is unique or read-only.
 * - The filters href answers an object keyed by filter name; each filter's `data` is a URL
 *   template naming its parameters, e.g. `/profileAndServices/profile/byText?text=$value`
 *   (CS help/api/using/filtering.md). Custom filters get generated parameter names
 *   (`byAmount?amount_parameter=100`), and names need not start with `by`
 *   (CS help/developing/using/uc-calling-resource-id-key.md; Campaign v8 after migration,
 *   experience-cloud.en help/campaign/api/limitations.md).
 * - `GET profileAndServicesExt/` answers an object keyed by resource name, beside
 *   `"apiName":"resourceType"` (CS help/api/using/custom-resources.md).
 */

export interface CampaignFieldInfo {
	name: string;
	label: string;
	/**
	 * The type a value is written as: `enumeration` and `link` as Campaign says, otherwise the
	 * technical type (`resType`: string, long, double, boolean, date, datetime…) when given, else
	 * the high-level `type`.
	 */
	type: string;
	/** Campaign's technical type, as given. */
	resType?: string;
	length?: number;
	/** Allowed values of an enumeration: `value` is what is written, `label` what is shown. */
	values?: Array<{ value: string; label: string }>;
	/** Resource a link or collection points to (`resTarget`). */
	target?: string;
}

export interface CampaignFilterInfo {
	/** The name the filter is listed under. */
	name: string;
	label: string;
	/** The path segment that applies it, from its `data` template (`byEmail`, `identification_key`). */
	segment: string;
	/** Its parameter names, from its `data` template, in order. */
	parameters: string[];
}

export interface CampaignResourceType {
	name: string;
	label: string;
	fields: CampaignFieldInfo[];
	/** Where the resource's filters are listed. */
	filtersHref?: string;
}

export interface CustomResourceInfo {
	name: string;
	label: string;
	/** The resource's records, e.g. `/profileAndServicesExt/cusProduct/`. */
	data: string;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
	return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
	return typeof value === 'string' && value.trim() ? value : undefined;
}

/** Types that hold other records, not a value a sync can write. */
const STRUCTURED_TYPES = new Set(['collection', 'item']);

function readValues(raw: unknown): CampaignFieldInfo['values'] {
	const entries: Array<[string | undefined, unknown]> = Array.isArray(raw)
		? raw.map((v) => [undefined, v])
		: isObject(raw)
			? Object.entries(raw)
			: [];
	const values: NonNullable<CampaignFieldInfo['values']> = [];
	for (const [key, entry] of entries) {
		if (!isObject(entry)) {
			if (entry !== undefined && entry !== null)
				values.push({ value: String(entry), label: String(entry) });
			continue;
		}
		// Enumerations are written with the value's name (the `@name` of the values node).
		const value = text(entry.name) ?? text(entry['@name']) ?? key ?? String(entry.value ?? '');
		if (!value) continue;
		values.push({ value, label: text(entry.label) ?? text(entry['@label']) ?? value });
	}
	return values;
}

export function readField(key: string, raw: unknown): CampaignFieldInfo {
	const entry = isObject(raw) ? raw : {};
	const name = text(entry.apiName) ?? key;
	const type = text(entry.type) ?? 'string';
	const resType = text(entry.resType);
	const effective =
		type === 'enumeration' || type === 'link' || STRUCTURED_TYPES.has(type)
			? type
			: (resType ?? type);
	const field: CampaignFieldInfo = { name, label: text(entry.label) ?? name, type: effective };
	if (resType) field.resType = resType;
	if (typeof entry.length === 'number' && entry.length > 0) field.length = entry.length;
	if (type === 'enumeration' && entry.values !== undefined) field.values = readValues(entry.values);
	const target = text(entry.resTarget);
	if (target) field.target = target;
	return field;
}

/** A resource's metadata answer. */
export function readResourceType(body: unknown, resourceName: string): CampaignResourceType {
	const b = isObject(body) ? body : {};
	const content = isObject(b.content) ? b.content : {};
	const type: CampaignResourceType = {
		name: text(b.name) ?? resourceName,
		label: text(b.label) ?? text(b.help) ?? resourceName,
		fields: Object.entries(content).map(([key, raw]) => readField(key, raw)),
	};
	const filters = isObject(b.filters) ? text(b.filters.href) : undefined;
	if (filters) type.filtersHref = filters;
	return type;
}

/** Whether a field holds one value a sync can write (not a collection or an embedded item). */
export function isScalarField(field: CampaignFieldInfo): boolean {
	return !STRUCTURED_TYPES.has(field.type);
}

/** The last segment of a URL's path (`/profileAndServicesExt/cusProduct/` → `cusProduct`). */
function lastSegment(url: string): string | undefined {
	return url.split('?')[0].replace(/\/+$/, '').split('/').pop() || undefined;
}

/**
 * A filter's path segment and parameters from its `data` template: the last path segment, and
 * each query parameter whose value is `$value` (others are fixed by the template).
 */
export function readFilterTemplate(data: string): { segment?: string; parameters: string[] } {
	const [, query = ''] = data.split('?');
	const segment = lastSegment(data);
	const parameters = query
		.split('&')
		.filter(Boolean)
		.map((pair) => pair.split('='))
		.filter(([, value]) => value === '$value')
		.map(([name]) => decodeURIComponent(name));
	return { segment, parameters };
}

/** The filters list answer (keyed by filter name). */
export function readFilters(body: unknown): CampaignFilterInfo[] {
	const b = isObject(body) ? body : {};
	const filters: CampaignFilterInfo[] = [];
	for (const [name, raw] of Object.entries(b)) {
		if (!isObject(raw)) continue;
		const data = text(raw.data);
		const template = data ? readFilterTemplate(data) : { parameters: [] };
		filters.push({
			name,
			label: text(raw.label) ?? name,
			segment: template.segment ?? name,
			parameters: template.parameters,
		});
	}
	return filters;
}

/** The custom resources answer (`profileAndServicesExt/`). */
export function readCustomResources(body: unknown): CustomResourceInfo[] {
	const b = isObject(body) ? body : {};
	const resources: CustomResourceInfo[] = [];
	for (const [key, raw] of Object.entries(b)) {
		if (!isObject(raw)) continue;
		// The resource's records path names it (Adobe's own sample repeats one `name` by mistake).
		const data = text(raw.data);
		const name = (data && lastSegment(data)) || key;
		resources.push({
			name,
			label: text(raw.label) ?? text(raw.help) ?? name,
			data: data ?? `/profileAndServicesExt/${name}/`,
		});
	}
	return resources;
}
