/**
 * `EntityDefinitions` in the shapes the Web API returns: tables, attributes (with typed casts such
 * as PicklistAttributeMetadata and their option sets), and alternate keys.
 */
import { compileFilter, FilterError, objectPathResolver } from './filter';
import {
	isLookup,
	isProperty,
	stableGuid,
	type ColumnDefinition,
	type OptionDefinition,
	type Table,
} from './schema';
import { keyIndexStatus } from './customize';
import { Store, StoreError } from './store';
import { API_PATH } from './query';

export function label(text: string, id: string): Record<string, unknown> {
	const localized = {
		Label: text,
		LanguageCode: 1033,
		IsManaged: true,
		MetadataId: stableGuid(`label:${id}`),
		HasChanged: null,
	};
	return { LocalizedLabels: [localized], UserLocalizedLabel: localized };
}

const TYPE_NAMES: Record<string, string> = {
	String: 'StringType',
	Memo: 'MemoType',
	Uniqueidentifier: 'UniqueidentifierType',
	Integer: 'IntegerType',
	BigInt: 'BigIntType',
	Decimal: 'DecimalType',
	Double: 'DoubleType',
	Money: 'MoneyType',
	Boolean: 'BooleanType',
	DateTime: 'DateTimeType',
	Picklist: 'PicklistType',
	State: 'StateType',
	Status: 'StatusType',
	Lookup: 'LookupType',
	Customer: 'CustomerType',
	Owner: 'OwnerType',
	EntityName: 'EntityNameType',
	Virtual: 'VirtualType',
};

const CAST_TYPES: Record<string, string> = {
	String: 'StringAttributeMetadata',
	Memo: 'MemoAttributeMetadata',
	Uniqueidentifier: 'UniqueIdentifierAttributeMetadata',
	Integer: 'IntegerAttributeMetadata',
	BigInt: 'BigIntAttributeMetadata',
	Decimal: 'DecimalAttributeMetadata',
	Double: 'DoubleAttributeMetadata',
	Money: 'MoneyAttributeMetadata',
	Boolean: 'BooleanAttributeMetadata',
	DateTime: 'DateTimeAttributeMetadata',
	Picklist: 'PicklistAttributeMetadata',
	State: 'StateAttributeMetadata',
	Status: 'StatusAttributeMetadata',
	Lookup: 'LookupAttributeMetadata',
	Customer: 'LookupAttributeMetadata',
	Owner: 'LookupAttributeMetadata',
	EntityName: 'EntityNameAttributeMetadata',
	Virtual: 'AttributeMetadata',
};

function entityMetadata(table: Table): Record<string, unknown> {
	return {
		MetadataId: table.metadataId,
		LogicalName: table.logicalName,
		SchemaName: schemaName(table.logicalName),
		EntitySetName: table.entitySetName,
		LogicalCollectionName: table.entitySetName,
		CollectionSchemaName: schemaName(table.entitySetName),
		PrimaryIdAttribute: table.primaryIdAttribute,
		PrimaryNameAttribute: table.primaryNameAttribute,
		ObjectTypeCode: table.objectTypeCode,
		ChangeTrackingEnabled: table.changeTrackingEnabled,
		CanChangeTrackingBeEnabled: {
			Value: true,
			CanBeChanged: !table.changeTrackingEnabled,
			ManagedPropertyLogicalName: 'canchangetrackingbeenabled',
		},
		IsActivity: table.isActivity,
		IsCustomEntity: table.logicalName.includes('_'),
		IsValidForAdvancedFind: true,
		OwnershipType: table.columnsByName.has('ownerid') ? 'UserOwned' : 'OrganizationOwned',
		DisplayName: label(table.displayName, `${table.logicalName}:display`),
		DisplayCollectionName: label(table.displayCollectionName, `${table.logicalName}:collection`),
		Description: { LocalizedLabels: [], UserLocalizedLabel: null },
	};
}

function schemaName(logicalName: string): string {
	const prefix = /^([a-z]+_)/.exec(logicalName)?.[1] ?? '';
	const rest = logicalName.slice(prefix.length);
	return prefix + rest.charAt(0).toUpperCase() + rest.slice(1);
}

function option(o: OptionDefinition, id: string): Record<string, unknown> {
	const result: Record<string, unknown> = {
		Value: o.value,
		Color: null,
		IsManaged: true,
		ExternalValue: null,
		ParentValues: [],
		Tag: null,
		IsHidden: false,
		MetadataId: null,
		HasChanged: null,
		Label: label(o.label, `${id}:${o.value}`),
		Description: { LocalizedLabels: [], UserLocalizedLabel: null },
	};
	if (o.defaultStatus !== undefined) {
		result.DefaultStatus = o.defaultStatus;
		result.InvariantName = o.label;
	}
	if (o.state !== undefined) {
		result.State = o.state;
		result.TransitionData = null;
	}
	return result;
}

function optionSet(table: Table, column: ColumnDefinition): Record<string, unknown> {
	const id = `${table.logicalName}.${column.logicalName}`;
	const base = {
		MetadataId: stableGuid(`optionset:${id}`),
		Name: `${table.logicalName}_${column.logicalName}`,
		IsGlobal: false,
		IsCustomOptionSet: table.logicalName.includes('_'),
		DisplayName: label(column.displayName ?? column.logicalName, `${id}:optionset`),
	};
	if (column.type === 'Boolean') {
		return {
			...base,
			OptionSetType: 'Boolean',
			TrueOption: option({ value: 1, label: column.trueLabel ?? 'Yes' }, id),
			FalseOption: option({ value: 0, label: column.falseLabel ?? 'No' }, id),
		};
	}
	return {
		...base,
		OptionSetType: column.type === 'Picklist' ? 'Picklist' : column.type,
		Options: (column.options ?? []).map((o) => option(o, id)),
	};
}

function attributeMetadata(table: Table, column: ColumnDefinition): Record<string, unknown> {
	const id = `${table.logicalName}.${column.logicalName}`;
	const result: Record<string, unknown> = {
		'@odata.type': `#Microsoft.Dynamics.CRM.${CAST_TYPES[column.type]}`,
		MetadataId: stableGuid(`attribute:${id}`),
		LogicalName: column.logicalName,
		SchemaName: schemaName(column.logicalName),
		EntityLogicalName: table.logicalName,
		AttributeType: column.type,
		AttributeTypeName: { Value: TYPE_NAMES[column.type] },
		AttributeOf: column.attributeOf ?? null,
		DisplayName: label(column.displayName ?? column.logicalName, `${id}:display`),
		Description: { LocalizedLabels: [], UserLocalizedLabel: null },
		IsPrimaryId: column.logicalName === table.primaryIdAttribute,
		IsPrimaryName: column.logicalName === table.primaryNameAttribute,
		IsValidForRead: column.validForRead !== false,
		IsValidForCreate: !column.readOnly && isProperty(column),
		IsValidForUpdate:
			!column.readOnly && isProperty(column) && column.logicalName !== table.primaryIdAttribute,
		IsCustomAttribute: column.logicalName.includes('_') && !column.logicalName.startsWith('_'),
		IsLogical: false,
		RequiredLevel: {
			Value: column.logicalName === table.primaryIdAttribute ? 'SystemRequired' : 'None',
			CanBeChanged: true,
			ManagedPropertyLogicalName: 'canmodifyrequirementlevelsettings',
		},
	};
	if (column.type === 'String' || column.type === 'Memo') {
		result.MaxLength = column.maxLength ?? (column.type === 'Memo' ? 2000 : 100);
		result.Format = column.type === 'Memo' ? 'TextArea' : 'Text';
	}
	if (column.type === 'DateTime') {
		result.Format = column.format ?? 'DateAndTime';
		result.DateTimeBehavior = { Value: column.format === 'DateOnly' ? 'DateOnly' : 'UserLocal' };
	}
	if (column.type === 'Money') result.Precision = 2;
	if (isLookup(column)) result.Targets = column.targets ?? [];
	if (column.type === 'Picklist' || column.type === 'State' || column.type === 'Status') {
		result.DefaultFormValue = -1;
	}
	if (column.type === 'Boolean') result.DefaultValue = false;
	return result;
}

function keyMetadata(store: Store, table: Table): Record<string, unknown>[] {
	const now = Date.now();
	return table.keys.map((key) => ({
		MetadataId: stableGuid(`key:${table.logicalName}.${key.logicalName}`),
		LogicalName: key.logicalName,
		SchemaName: schemaName(key.logicalName),
		EntityLogicalName: table.logicalName,
		KeyAttributes: key.attributes,
		EntityKeyIndexStatus: keyIndexStatus(key, now, store.keyIndexDelayMs),
		DisplayName: label(
			key.displayName ?? key.logicalName,
			`${table.logicalName}.${key.logicalName}`,
		),
	}));
}

interface SelectExpand {
	select: string[] | null;
	expand: Map<string, string[] | null>;
}

/** `$select=a,b` and `$expand=OptionSet($select=Options),GlobalOptionSet`. */
function parseSelectExpand(query: URLSearchParams): SelectExpand {
	const select = query.get('$select');
	const expand = new Map<string, string[] | null>();
	const expandText = query.get('$expand');
	if (expandText) {
		const re = /([A-Za-z]+)(?:\(\$select=([^)]*)\))?/g;
		let m: RegExpExecArray | null;
		while ((m = re.exec(expandText)))
			expand.set(m[1], m[2] ? m[2].split(',').map((s) => s.trim()) : null);
	}
	return { select: select ? select.split(',').map((s) => s.trim()) : null, expand };
}

function shape(
	item: Record<string, unknown>,
	options: SelectExpand,
	expandable: Record<string, () => unknown>,
	typeName: string,
): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	if (item['@odata.type']) out['@odata.type'] = item['@odata.type'];
	out.MetadataId = item.MetadataId;
	const names = options.select ?? Object.keys(item).filter((k) => !k.startsWith('@'));
	for (const name of names) {
		if (!(name in item)) {
			// Derived-type properties (MaxLength, Targets...) are simply absent on other attribute types.
			if (name in expandable || typeName.endsWith('AttributeMetadata')) continue;
			throw new StoreError(
				400,
				'0x80060888',
				`Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.${typeName}'.`,
			);
		}
		out[name] = item[name];
	}
	for (const [name, select] of options.expand) {
		const make = expandable[name];
		if (!make) {
			throw new StoreError(
				400,
				'0x80060888',
				`Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.${typeName}'.`,
			);
		}
		let value = make();
		if (select && value && typeof value === 'object' && !Array.isArray(value)) {
			const full = value as Record<string, unknown>;
			const picked: Record<string, unknown> = { MetadataId: full.MetadataId };
			for (const key of select) if (key in full) picked[key] = full[key];
			value = picked;
		}
		out[name] = value;
	}
	return out;
}

function applyFilter<T>(items: T[], query: URLSearchParams, typeName: string): T[] {
	const text = query.get('$filter');
	if (!text) return items;
	try {
		const predicate = compileFilter(text, objectPathResolver(undefined, typeName));
		return items.filter((item) => predicate(item));
	} catch (error) {
		if (error instanceof FilterError) throw new StoreError(400, '0x80060888', error.message);
		throw error;
	}
}

function entityNotFound(name: string): StoreError {
	return new StoreError(404, '0x80040217', `Could not find entity with logical name '${name}'.`);
}

/** Answers GET `EntityDefinitions...`; `path` starts after `EntityDefinitions`. */
export function metadataRequest(
	store: Store,
	path: string,
	query: URLSearchParams,
	baseUrl: string,
): Record<string, unknown> {
	const ctx = `${baseUrl}${API_PATH}$metadata#`;
	const options = parseSelectExpand(query);
	const tables = [...store.tables.values()].map((s) => s.table);
	if (path === '' || path === '/') {
		const all = tables.map((t) => entityMetadata(t));
		const value = applyFilter(all, query, 'EntityMetadata').map((e) => {
			const table = tables.find((t) => t.logicalName === e.LogicalName)!;
			return shape(e, options, entityExpansions(store, table), 'EntityMetadata');
		});
		return { '@odata.context': `${ctx}EntityDefinitions`, value };
	}
	const head = /^\((?:LogicalName='([^']*)'|([0-9a-fA-F-]{36}))\)(.*)$/.exec(path);
	if (!head)
		throw new StoreError(
			400,
			'0x80060888',
			`Bad Request - Error in query syntax: 'EntityDefinitions${path}'.`,
		);
	const table = head[1]
		? tables.find((t) => t.logicalName === head[1])
		: tables.find((t) => t.metadataId === head[2]!.toLowerCase());
	if (!table) throw entityNotFound(head[1] ?? head[2]);
	const rest = head[3];
	const entityCtx = `${ctx}EntityDefinitions('${table.logicalName}')`;
	if (rest === '') {
		return {
			'@odata.context': `${entityCtx}/$entity`,
			...shape(entityMetadata(table), options, entityExpansions(store, table), 'EntityMetadata'),
		};
	}
	if (rest === '/Keys') {
		return { '@odata.context': `${entityCtx}/Keys`, value: keyMetadata(store, table) };
	}
	const attributes =
		/^\/Attributes(?:\(LogicalName='([^']*)'\)|\(([0-9a-fA-F-]{36})\))?(?:\/Microsoft\.Dynamics\.CRM\.([A-Za-z]+))?$/.exec(
			rest,
		);
	if (!attributes)
		throw new StoreError(
			400,
			'0x80060888',
			`Resource not found for the segment '${rest.slice(1)}'.`,
		);
	const [, attributeName, attributeId, cast] = attributes;
	if (cast && !Object.values(CAST_TYPES).includes(cast) && cast !== 'EnumAttributeMetadata') {
		throw new StoreError(
			400,
			'0x80060888',
			`The type 'Microsoft.Dynamics.CRM.${cast}' is not a known attribute metadata type.`,
		);
	}
	if (cast === 'EnumAttributeMetadata') {
		throw new StoreError(
			400,
			'0x80060888',
			'Casting to EnumAttributeMetadata is not supported. Query each derived type separately.',
		);
	}
	const matchesCast = (c: ColumnDefinition) => !cast || CAST_TYPES[c.type] === cast;
	const expansions = (c: ColumnDefinition): Record<string, () => unknown> =>
		c.type === 'Picklist' || c.type === 'State' || c.type === 'Status' || c.type === 'Boolean'
			? { OptionSet: () => optionSet(table, c), GlobalOptionSet: () => null }
			: {};
	if (attributeName || attributeId) {
		const column = table.columns.find((c) =>
			attributeName
				? c.logicalName === attributeName
				: stableGuid(`attribute:${table.logicalName}.${c.logicalName}`) ===
					attributeId!.toLowerCase(),
		);
		if (!column) {
			throw new StoreError(
				404,
				'0x80040217',
				`Could not find attribute '${attributeName ?? attributeId}' of entity '${table.logicalName}'.`,
			);
		}
		if (!matchesCast(column)) {
			throw new StoreError(
				400,
				'0x80060888',
				`The attribute '${column.logicalName}' is not of type 'Microsoft.Dynamics.CRM.${cast}'.`,
			);
		}
		const castPart = cast ? `/Microsoft.Dynamics.CRM.${cast}` : '';
		return {
			'@odata.context': `${entityCtx}/Attributes${castPart}/$entity`,
			...shape(
				attributeMetadata(table, column),
				options,
				expansions(column),
				cast ?? 'AttributeMetadata',
			),
		};
	}
	const all = table.columns
		.filter(matchesCast)
		.map((c) => ({ column: c, meta: attributeMetadata(table, c) }));
	const filtered = applyFilter(
		all.map((a) => a.meta),
		query,
		cast ?? 'AttributeMetadata',
	);
	const value = filtered.map((meta) => {
		const column = all.find((a) => a.meta === meta)!.column;
		const shaped = shape(meta, options, expansions(column), cast ?? 'AttributeMetadata');
		if (cast) delete shaped['@odata.type'];
		return shaped;
	});
	return {
		'@odata.context': `${entityCtx}/Attributes${cast ? `/Microsoft.Dynamics.CRM.${cast}` : ''}`,
		value,
	};
}

function entityExpansions(store: Store, table: Table): Record<string, () => unknown> {
	return {
		Attributes: () => table.columns.map((c) => attributeMetadata(table, c)),
		Keys: () => keyMetadata(store, table),
	};
}
