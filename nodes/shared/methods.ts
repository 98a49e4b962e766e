import type {
	ILoadOptionsFunctions,
	INodeListSearchResult,
	INodePropertyOptions,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import {
	campaignResourcePath,
	type CampaignClient,
	type CampaignFieldInfo,
	type CampaignResourceType,
} from '../../lib/campaign/client';
import { filterNamedAfter, oneParameterFilters } from '../../lib/campaign/keys';
import { isScalarField } from '../../lib/campaign/metadata';
import { OPTION_TYPES } from '../../lib/sync/types';
import { campaignClient, dataverseClient } from './clients';
import { locatorValue } from '../../lib/flows/settings';

/**
 * Dropdowns filled from live metadata (Dataverse `EntityDefinitions`, Campaign `resourceType`),
 * through the node's credentials. Each option's description shows the data type, as the spec's
 * mapping screen does below its dropdowns.
 */

function alphabetically(a: INodePropertyOptions, b: INodePropertyOptions) {
	return a.name.localeCompare(b.name);
}

/** "Label (name)", or the label alone where it only repeats the name ("Profile", not "Profile (profile)"). */
export function optionName(label: string | undefined, name: string): string {
	if (!label) return name;
	return label.toLowerCase() === name.toLowerCase() ? label : `${label} (${name})`;
}

/** A resource locator's list, filtered by what the user typed (in the name or the value). */
function searchResult(options: INodePropertyOptions[], filter?: string): INodeListSearchResult {
	const wanted = filter?.trim().toLowerCase();
	const results = options
		.filter(
			(o) =>
				!wanted ||
				o.name.toLowerCase().includes(wanted) ||
				String(o.value).toLowerCase().includes(wanted),
		)
		.sort(alphabetically);
	return { results };
}

/**
 * A parameter of the open panel: a plain value, or the value of a resource locator. (`extractValue`
 * looks a parameter up by its path, which a row's `&field` is not.)
 */
export function currentString(ctx: ILoadOptionsFunctions, name: string): string {
	const value = locatorValue(ctx.getCurrentNodeParameter(name));
	return typeof value === 'string' ? value.trim() : '';
}

/** The environment's tables, for the table resource locators. */
export async function searchTables(
	this: ILoadOptionsFunctions,
	filter?: string,
): Promise<INodeListSearchResult> {
	const client = await dataverseClient(this);
	const tables = await client.listTables();
	return searchResult(
		tables.map((t) => ({
			name: optionName(t.displayName, t.logicalName),
			value: t.logicalName,
			description: t.changeTrackingEnabled
				? 'Change tracking on: changes and deletes are read incrementally'
				: 'Change tracking off: changes are read by modified date, deletes are not seen',
		})),
		filter,
	);
}

async function columnsOf(ctx: ILoadOptionsFunctions, tableParameter: string) {
	const table = currentString(ctx, tableParameter);
	if (!table) return [];
	const client = await dataverseClient(ctx);
	return await client.getColumns(table);
}

/**
 * The columns rows can be read with, by logical name (a lookup is read as `_<name>_value` by the
 * client). Helpers (`…name`, `…yominame`, `…type`), virtual and unreadable columns are left out:
 * Dataverse refuses them in `$select`.
 */
export async function getColumns(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	return (await columnsOf(this, 'table'))
		.filter((c) => c.readable)
		.map((c) => ({
			name: optionName(c.displayName, c.logicalName),
			value: c.logicalName,
			description: `Type: ${c.type}${c.targets?.length ? ` (${c.targets.join(' or ')})` : ''}`,
		}))
		.sort(alphabetically);
}

/**
 * The Dynamics primary key, detected from the table's metadata when the panel opens. The setting
 * is read-only: its one option has the empty value (the detected key) and shows the key's name.
 * Another stored value is left without an option, so the editor flags it (and the run refuses it).
 */
export async function getPrimaryKey(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	const table = currentString(this, 'table');
	if (!table) return [];
	const client = await dataverseClient(this);
	const key = (await client.getTable(table)).primaryIdAttribute;
	// Workflows written before the setting became read-only may hold the key's name: still valid.
	const stored = currentString(this, 'dynamicsKey');
	return [
		{
			name: key,
			value: stored === key ? key : '',
			description: `Detected from the definition of ${table}`,
		},
	];
}

/** The values a column can take, for picklist, state, status and boolean columns. */
export async function getColumnValues(
	this: ILoadOptionsFunctions,
): Promise<INodePropertyOptions[]> {
	const table = currentString(this, 'table');
	const field = currentString(this, '&field');
	if (!table || !field) return [];
	const client = await dataverseClient(this);
	const column = (await client.getColumns(table)).find((c) => c.logicalName === field);
	if (!column) {
		throw new NodeOperationError(this.getNode(), `The table ${table} has no column ${field}`);
	}
	if (!OPTION_TYPES.has(column.type)) return [];
	const options = await client.getOptions(table, field);
	return options
		.map((o) => ({
			name: optionName(o.label, String(o.value)),
			value: typeof o.value === 'boolean' ? String(o.value) : o.value,
		}))
		.sort(alphabetically);
}

/** Profiles and the custom resources, for the Campaign table resource locators. */
export async function searchCampaignResources(
	this: ILoadOptionsFunctions,
	filter?: string,
): Promise<INodeListSearchResult> {
	const client = await campaignClient(this);
	const custom = await client.listCustomResources();
	const options: INodePropertyOptions[] = [{ name: 'Profile', value: 'profile' }];
	for (const resource of custom) {
		if (resource.name === 'profile') continue;
		options.push({ name: optionName(resource.label, resource.name), value: resource.name });
	}
	return searchResult(options, filter);
}

/** Fields Campaign maintains itself: never a target of a mapping. */
const MAINTAINED_FIELDS = new Set(['PKey', 'href', 'created', 'lastModified']);

async function campaignType(ctx: ILoadOptionsFunctions) {
	const resource = currentString(ctx, 'campaignResource');
	if (!resource) return undefined;
	const client = await campaignClient(ctx);
	const type = await client.resourceType(campaignResourcePath(resource));
	return { client, type, resource };
}

function fieldOption(f: CampaignFieldInfo, extra = ''): INodePropertyOptions {
	return {
		name: optionName(f.label, f.name),
		value: f.name,
		description: `Type: ${f.type}${f.length ? ` (${f.length})` : ''}${f.target && f.type === 'link' ? ` to ${f.target}` : ''}${extra}`,
	};
}

/** The fields a mapping can write: one value each, not maintained by Campaign. */
function writableFields(fields: CampaignFieldInfo[]): CampaignFieldInfo[] {
	return fields.filter((f) => isScalarField(f) && !MAINTAINED_FIELDS.has(f.name));
}

export async function getCampaignFields(
	this: ILoadOptionsFunctions,
): Promise<INodePropertyOptions[]> {
	const found = await campaignType(this);
	if (!found) return [];
	return writableFields(found.type.fields)
		.map((f) => fieldOption(f))
		.sort(alphabetically);
}

/**
 * Fields that can be the Campaign key: any field a mapping can write. Campaign's metadata says
 * neither whether a field is unique nor which field a custom filter tests, so the key comes with
 * a filter (the next setting) and, when Campaign enforces it, the user's word that it is unique.
 */
export async function getCampaignKeyFields(
	this: ILoadOptionsFunctions,
): Promise<INodePropertyOptions[]> {
	const found = await campaignType(this);
	if (!found) return [];
	return await keyFieldOptions(found.client, found.type);
}

/** The fields of a resource that can be a Campaign key, each saying which filter finds it. */
export async function keyFieldOptions(
	client: CampaignClient,
	type: CampaignResourceType,
): Promise<INodePropertyOptions[]> {
	const filters = await client.filters(type);
	return writableFields(type.fields)
		.filter((f) => f.type !== 'link')
		.map((f) => {
			const byName = filterNamedAfter(filters, f.name);
			return fieldOption(f, byName ? `; found with ${byName.name}` : '');
		})
		.sort(alphabetically);
}

/**
 * The resource's one-parameter filters, the one named after the key first. The empty value keeps
 * that choice by name (the default).
 */
export async function getCampaignKeyFilters(
	this: ILoadOptionsFunctions,
): Promise<INodePropertyOptions[]> {
	const found = await campaignType(this);
	if (!found) return [];
	return await keyFilterOptions(found.client, found.type, currentString(this, 'campaignKey'));
}

/** The one-parameter filters of a resource, "By Name" (the one named after `key`) first. */
export async function keyFilterOptions(
	client: CampaignClient,
	type: CampaignResourceType,
	key: string,
): Promise<INodePropertyOptions[]> {
	const filters = oneParameterFilters(await client.filters(type));
	const byName = key ? filterNamedAfter(filters, key) : undefined;
	const options: INodePropertyOptions[] = [
		{
			name: byName ? `By Name: ${byName.name}` : 'By Name',
			value: '',
			description: byName
				? `The filter named after ${key}: ${byName.label}`
				: `No single filter is named after ${key || 'the key'}: choose one below`,
		},
	];
	const listed = filters.map((f) => ({
		name: optionName(f.label, f.name),
		value: f.name,
		description: `Parameter: ${f.parameters[0]}${f === byName ? `; named after ${key}` : ''}`,
	}));
	return [...options, ...listed.sort(alphabetically)];
}

/** The Existing Value list of a field replacement: the options of the row's field. */
export async function searchColumnValues(
	this: ILoadOptionsFunctions,
	filter?: string,
): Promise<INodeListSearchResult> {
	const options = await getColumnValues.call(this);
	return searchResult(
		options.map((o) => ({ name: o.name, value: String(o.value) })),
		filter,
	);
}
