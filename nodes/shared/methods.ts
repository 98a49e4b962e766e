import type {
	ILoadOptionsFunctions,
	INodeListSearchResult,
	INodePropertyOptions,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { CampaignFieldInfo } from '../../lib/campaign/client';
import { filterNamedAfter, oneParameterFilters } from '../../lib/campaign/keys';
import { isScalarField } from '../../lib/campaign/metadata';
import { campaignClient, dataverseClient } from './clients';

/**
 * Dropdowns filled from live metadata (Dataverse `EntityDefinitions`, Campaign `resourceType`),
 * through the node's credentials. Each option's description shows the data type, as the spec's
 * mapping screen does below its dropdowns.
 */

function byName(a: INodePropertyOptions, b: INodePropertyOptions) {
	return a.name.localeCompare(b.name);
}

/** A Campaign resource as the client addresses it: profiles and custom resources live under the Ext API. */
export function campaignResourcePath(resource: string): string {
	return resource.includes('/') ? resource : `profileAndServicesExt/${resource}`;
}

function currentString(ctx: ILoadOptionsFunctions, name: string): string {
	const value = ctx.getCurrentNodeParameter(name);
	return typeof value === 'string' ? value : '';
}

export async function getTables(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	const client = await dataverseClient(this);
	const tables = await client.listTables();
	return tables
		.map((t) => ({
			name: t.displayName ? `${t.displayName} (${t.logicalName})` : t.logicalName,
			value: t.logicalName,
			description: t.changeTrackingEnabled
				? 'Change tracking on: changes and deletes are read incrementally'
				: 'Change tracking off: changes are read by modified date, deletes are not seen',
		}))
		.sort(byName);
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
			name: c.displayName ? `${c.displayName} (${c.logicalName})` : c.logicalName,
			value: c.logicalName,
			description: `Type: ${c.type}${c.targets?.length ? ` (${c.targets.join(' or ')})` : ''}`,
		}))
		.sort(byName);
}

/** The Dynamics primary key: detected from metadata, so the dropdown offers exactly one value. */
export async function getPrimaryKey(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	const table = currentString(this, 'table');
	if (!table) return [];
	const client = await dataverseClient(this);
	const info = await client.getTable(table);
	return [
		{
			name: info.primaryIdAttribute,
			value: info.primaryIdAttribute,
			description: 'Detected from the table definition (read-only)',
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
	if (!['Picklist', 'State', 'Status', 'Boolean'].includes(column.type)) return [];
	const options = await client.getOptions(table, field);
	return options.map((o) => ({
		name: `${o.label} (${String(o.value)})`,
		value: typeof o.value === 'boolean' ? String(o.value) : o.value,
	}));
}

export async function getCampaignResources(
	this: ILoadOptionsFunctions,
): Promise<INodePropertyOptions[]> {
	const client = await campaignClient(this);
	const custom = await client.listCustomResources();
	const options: INodePropertyOptions[] = [
		{ name: 'Profile (Profile)', value: 'profile', description: 'Campaign profiles' },
	];
	for (const resource of custom) {
		if (resource.name === 'profile') continue;
		options.push({
			name: `${resource.label} (${resource.name})`,
			value: resource.name,
			description: 'Custom resource',
		});
	}
	return options.sort(byName);
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
		name: f.label && f.label !== f.name ? `${f.label} (${f.name})` : f.name,
		value: f.name,
		description: `Type: ${f.type}${f.length ? ` (${f.length})` : ''}${extra}`,
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
		.sort(byName);
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
	const filters = await found.client.filters(found.type);
	return writableFields(found.type.fields)
		.filter((f) => f.type !== 'link')
		.map((f) => {
			const byName = filterNamedAfter(filters, f.name);
			return fieldOption(f, byName ? `; found with ${byName.name}` : '');
		})
		.sort(byName);
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
	const key = currentString(this, 'campaignKey');
	const filters = oneParameterFilters(await found.client.filters(found.type));
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
	for (const f of filters) {
		options.push({
			name: f.label && f.label !== f.name ? `${f.label} (${f.name})` : f.name,
			value: f.name,
			description: `Parameter: ${f.parameters[0]}${f === byName ? `; named after ${key}` : ''}`,
		});
	}
	return options;
}

/** The Existing Value list of a field replacement: the options of the row's field. */
export async function searchColumnValues(
	this: ILoadOptionsFunctions,
	filter?: string,
): Promise<INodeListSearchResult> {
	const options = await getColumnValues.call(this);
	const wanted = filter?.trim().toLowerCase();
	const results = options
		.filter((o) => !wanted || o.name.toLowerCase().includes(wanted))
		.map((o) => ({ name: o.name, value: String(o.value) }));
	return { results };
}
