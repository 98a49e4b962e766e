/**
 * Creating tables, columns and alternate keys through the Web API's metadata, as Microsoft
 * documents it:
 *
 * - `POST EntityDefinitions` with an EntityMetadata whose `Attributes` hold the primary name
 *   column (a StringAttributeMetadata with `IsPrimaryName`); `POST EntityDefinitions(...)/Attributes`
 *   adds a column; both answer 204 with `OData-EntityId`
 *   (webapi/create-update-entity-definitions-using-web-api.md).
 * - A custom activity: `IsActivity` true, `IsAvailableOffline` true, `IsMailMergeEnabled` false,
 *   user- or team-owned, `HasActivities` false, `HasNotes` true, primary column `Subject`; it
 *   inherits the activity columns (regarding, owner) of `activitypointer`
 *   (developer/data-platform/custom-activities.md).
 * - `POST EntityDefinitions(...)/Keys` with an EntityKeyMetadata (`KeyAttributes`); the key's index
 *   is built in the background and `EntityKeyIndexStatus` goes Pending → In Progress → Active, or
 *   Failed, e.g. when existing rows hold duplicate values (define-alternate-keys-entity.md; the
 *   request as microsoft/PowerApps-Samples' Web API CreateEntityKeyRequest sends it). At most ten
 *   keys per table, sixteen columns per key, of the column types listed there.
 *
 * The error codes and messages of refused definitions are not documented: see sandbox/README.md.
 */
import { stableGuid, type ColumnDefinition, type KeyDefinition, type Table } from './schema';
import { Store, StoreError, type TableState } from './store';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);

/** What refused metadata answers: 400 with Dataverse's generic code (an assumption). */
function refused(message: string): StoreError {
	return new StoreError(400, '0x80040203', message);
}

function labelOf(value: unknown): string | undefined {
	if (!isObject(value)) return undefined;
	const labels = value.LocalizedLabels;
	if (Array.isArray(labels) && isObject(labels[0]) && typeof labels[0].Label === 'string') {
		return labels[0].Label;
	}
	return undefined;
}

/** A managed property (`{"Value": false}`) or a plain boolean. */
function flag(value: unknown): boolean | undefined {
	if (typeof value === 'boolean') return value;
	if (isObject(value) && typeof value.Value === 'boolean') return value.Value;
	return undefined;
}

function schemaNameOf(body: Json, what: string): string {
	const name = body.SchemaName;
	if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
		throw refused(`The ${what} needs a SchemaName of letters, digits and underscores.`);
	}
	return name;
}

/** The type name at the end of `@odata.type` (`Microsoft.Dynamics.CRM.StringAttributeMetadata`). */
function castOf(body: Json): string {
	return String(body['@odata.type'] ?? '').replace(/^#?Microsoft\.Dynamics\.CRM\./, '');
}

/** A column from an AttributeMetadata body; only the kinds the sandbox plays. */
export function columnFromMetadata(body: Json): ColumnDefinition {
	const schemaName = schemaNameOf(body, 'column');
	const logicalName = schemaName.toLowerCase();
	const displayName = labelOf(body.DisplayName);
	const cast = castOf(body);
	const base = { logicalName, ...(displayName ? { displayName } : {}) };
	switch (cast) {
		case 'StringAttributeMetadata':
		case 'MemoAttributeMetadata': {
			const max = Number(body.MaxLength ?? (cast === 'MemoAttributeMetadata' ? 2000 : 100));
			const limit = cast === 'MemoAttributeMetadata' ? 1_048_576 : 4000;
			if (!Number.isInteger(max) || max < 1 || max > limit) {
				throw refused(`MaxLength of '${schemaName}' must be from 1 to ${limit}.`);
			}
			return {
				...base,
				type: cast === 'MemoAttributeMetadata' ? 'Memo' : 'String',
				maxLength: max,
			};
		}
		case 'DateTimeAttributeMetadata':
			return {
				...base,
				type: 'DateTime',
				format: body.Format === 'DateOnly' ? 'DateOnly' : 'DateAndTime',
			};
		case 'IntegerAttributeMetadata':
			return { ...base, type: 'Integer' };
		case 'BooleanAttributeMetadata':
			return { ...base, type: 'Boolean' };
		default:
			throw refused(
				`The sandbox creates String, Memo, DateTime, Integer and Boolean columns; '${schemaName}' is a ${cast || 'column without @odata.type'}.`,
			);
	}
}

/**
 * The columns every custom activity inherits from `activitypointer` (custom-activities.md). The
 * regarding lookup points to the sandbox's tables that have activities.
 */
function activityColumns(): ColumnDefinition[] {
	return [
		{ logicalName: 'description', type: 'Memo', displayName: 'Description', maxLength: 2000 },
		{
			logicalName: 'regardingobjectid',
			type: 'Lookup',
			displayName: 'Regarding',
			targets: ['contact', 'account'],
		},
		{ logicalName: 'scheduledend', type: 'DateTime', displayName: 'Due' },
		{ logicalName: 'actualend', type: 'DateTime', displayName: 'Actual End' },
		{
			logicalName: 'ownerid',
			type: 'Owner',
			displayName: 'Owner',
			targets: ['systemuser', 'team'],
		},
	];
}

/** `POST EntityDefinitions`: returns the new table. */
export function createEntity(store: Store, body: Json): TableState {
	const schemaName = schemaNameOf(body, 'table');
	if (!schemaName.includes('_')) {
		throw refused(
			`The SchemaName '${schemaName}' of a custom table needs the customization prefix of a publisher (e.g. new_).`,
		);
	}
	const logicalName = schemaName.toLowerCase();
	if (store.table(logicalName)) {
		throw refused(`A table with the name ${logicalName} already exists.`);
	}
	const attributes = Array.isArray(body.Attributes) ? body.Attributes.filter(isObject) : [];
	const primary = attributes.filter((a) => a.IsPrimaryName === true);
	if (primary.length !== 1 || castOf(primary[0]) !== 'StringAttributeMetadata') {
		throw refused(
			'The table needs exactly one primary name column: a StringAttributeMetadata with IsPrimaryName true.',
		);
	}
	const isActivity = body.IsActivity === true;
	const ownership = String(body.OwnershipType ?? 'UserOwned');
	if (!['UserOwned', 'TeamOwned', 'OrganizationOwned'].includes(ownership)) {
		throw refused(
			`OwnershipType '${ownership}' is not one of UserOwned, TeamOwned, OrganizationOwned.`,
		);
	}
	if (isActivity) {
		const problems: string[] = [];
		if (String(primary[0].SchemaName) !== 'Subject') {
			problems.push("the SchemaName of its primary column must be 'Subject'");
		}
		if (flag(body.IsAvailableOffline) !== true) problems.push('IsAvailableOffline must be true');
		if (flag(body.IsMailMergeEnabled) !== false) problems.push('IsMailMergeEnabled must be false');
		if (ownership === 'OrganizationOwned') problems.push('it must be user- or team-owned');
		if (body.HasActivities === true) problems.push('HasActivities must be false');
		if (body.HasNotes === false) problems.push('HasNotes must be true');
		if (problems.length) {
			throw refused(`A custom activity table cannot be created: ${problems.join('; ')}.`);
		}
	}
	const columns = attributes.map(columnFromMetadata);
	const primaryName = columnFromMetadata(primary[0]).logicalName;
	if (isActivity) columns.push(...activityColumns());
	else if (ownership !== 'OrganizationOwned') {
		columns.push({
			logicalName: 'ownerid',
			type: 'Owner',
			displayName: 'Owner',
			targets: ['systemuser', 'team'],
		});
	}
	const displayName = labelOf(body.DisplayName);
	const collection = labelOf(body.DisplayCollectionName);
	return store.defineTable({
		logicalName,
		...(displayName ? { displayName } : {}),
		...(collection ? { displayCollectionName: collection } : {}),
		primaryNameAttribute: primaryName,
		isActivity,
		changeTrackingEnabled: flag(body.ChangeTrackingEnabled) === true,
		columns,
	});
}

function redefine(store: Store, state: TableState, changes: Partial<Table>): TableState {
	const table = { ...state.table, ...changes };
	return store.defineTable({
		logicalName: table.logicalName,
		entitySetName: table.entitySetName,
		displayName: table.displayName,
		displayCollectionName: table.displayCollectionName,
		primaryIdAttribute: table.primaryIdAttribute,
		primaryNameAttribute: table.primaryNameAttribute,
		changeTrackingEnabled: table.changeTrackingEnabled,
		isActivity: table.isActivity,
		columns: table.columns.filter((c) => !c.attributeOf),
		keys: table.keys,
	});
}

/** `POST EntityDefinitions(...)/Attributes`: returns the new column. */
export function createAttribute(store: Store, state: TableState, body: Json): ColumnDefinition {
	const column = columnFromMetadata(body);
	if (state.table.columnsByName.has(column.logicalName)) {
		throw refused(
			`A column with the name ${column.logicalName} already exists in table ${state.table.logicalName}.`,
		);
	}
	redefine(store, state, { columns: [...state.table.columns, column] });
	return column;
}

/** Column types an alternate key may hold (define-alternate-keys-entity.md). */
const KEY_TYPES = new Set(['String', 'Integer', 'Decimal', 'DateTime', 'Lookup', 'Picklist']);

/** `POST EntityDefinitions(...)/Keys`: returns the new key, its index not yet built. */
export function createKey(store: Store, state: TableState, body: Json, now: number): KeyDefinition {
	const schemaName = schemaNameOf(body, 'key');
	const logicalName = schemaName.toLowerCase();
	const table = state.table;
	const attributes = Array.isArray(body.KeyAttributes) ? body.KeyAttributes.map(String) : [];
	if (!attributes.length || attributes.length > 16) {
		throw refused('KeyAttributes must name from 1 to 16 columns.');
	}
	if (table.keys.length >= 10) {
		throw refused(
			`The table ${table.logicalName} already has 10 alternate keys, the most allowed.`,
		);
	}
	if (table.keys.some((k) => k.logicalName === logicalName)) {
		throw refused(
			`A key with the name ${logicalName} already exists in table ${table.logicalName}.`,
		);
	}
	for (const attribute of attributes) {
		const column = table.columnsByName.get(attribute);
		if (!column) throw refused(`The table ${table.logicalName} has no column '${attribute}'.`);
		if (!KEY_TYPES.has(column.type)) {
			throw refused(
				`The column '${attribute}' is a ${column.type} column; an alternate key holds only String, Integer, Decimal, DateTime, Lookup and Picklist columns.`,
			);
		}
	}
	// Existing rows with duplicate values make the index job fail.
	const seen = new Set<string>();
	let duplicates = false;
	for (const row of state.rows.values()) {
		const composite = store.compositeKey(state, attributes, row);
		if (composite === null) continue;
		if (seen.has(composite)) duplicates = true;
		seen.add(composite);
	}
	const displayName = labelOf(body.DisplayName);
	const key: KeyDefinition = {
		logicalName,
		attributes,
		...(displayName ? { displayName } : {}),
		createdAt: now,
		...(duplicates ? { failed: true } : {}),
	};
	redefine(store, state, { keys: [...table.keys, key] });
	return key;
}

export type KeyIndexStatus = 'Pending' | 'InProgress' | 'Active' | 'Failed';

/** A key's index status at `now`: built in the background over `delayMs`. */
export function keyIndexStatus(key: KeyDefinition, now: number, delayMs: number): KeyIndexStatus {
	if (key.createdAt === undefined) return key.failed ? 'Failed' : 'Active';
	const elapsed = now - key.createdAt;
	if (elapsed < delayMs / 2) return 'Pending';
	if (elapsed < delayMs) return 'InProgress';
	return key.failed ? 'Failed' : 'Active';
}

export function entityUrl(baseUrl: string, table: Table): string {
	return `${baseUrl}EntityDefinitions(${table.metadataId})`;
}

export function attributeUrl(baseUrl: string, table: Table, column: ColumnDefinition): string {
	return `${baseUrl}EntityDefinitions(LogicalName='${table.logicalName}')/Attributes(${stableGuid(`attribute:${table.logicalName}.${column.logicalName}`)})`;
}

export function keyUrl(baseUrl: string, table: Table, key: KeyDefinition): string {
	return `${baseUrl}EntityDefinitions(LogicalName='${table.logicalName}')/Keys(${stableGuid(`key:${table.logicalName}.${key.logicalName}`)})`;
}
