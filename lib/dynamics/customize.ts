/**
 * Metadata definitions for the Web API's `POST EntityDefinitions`, `.../Attributes` and `.../Keys`
 * (webapi/create-update-entity-definitions-using-web-api.md; keys as EntityKeyMetadata,
 * define-alternate-keys-entity.md, sent as microsoft/PowerApps-Samples' Web API
 * CreateEntityKeyRequest does). Pure: the client posts them.
 */
import { assertIdentifier, odataLiteral } from './odata';

const LANGUAGE = 1033;

function label(text: string): Record<string, unknown> {
	return {
		'@odata.type': 'Microsoft.Dynamics.CRM.Label',
		LocalizedLabels: [
			{
				'@odata.type': 'Microsoft.Dynamics.CRM.LocalizedLabel',
				Label: text,
				LanguageCode: LANGUAGE,
			},
		],
	};
}

const notRequired = {
	Value: 'None',
	CanBeChanged: true,
	ManagedPropertyLogicalName: 'canmodifyrequirementlevelsettings',
};

/**
 * A custom activity table: `IsActivity`, offline availability, no mail merge, user-owned, no
 * activities of its own, notes, and the primary column every activity has, `Subject`
 * (developer/data-platform/custom-activities.md). It is kept out of the "new activity" menus
 * (`ActivityTypeMask` 0): the integration writes these activities, users do not.
 */
export function activityTableDefinition(spec: {
	schemaName: string;
	displayName: string;
	collectionName: string;
	description: string;
	subjectMaxLength: number;
}): Record<string, unknown> {
	return {
		'@odata.type': 'Microsoft.Dynamics.CRM.EntityMetadata',
		SchemaName: spec.schemaName,
		DisplayName: label(spec.displayName),
		DisplayCollectionName: label(spec.collectionName),
		Description: label(spec.description),
		OwnershipType: 'UserOwned',
		IsActivity: true,
		ActivityTypeMask: 0,
		IsAvailableOffline: true,
		IsMailMergeEnabled: {
			Value: false,
			CanBeChanged: true,
			ManagedPropertyLogicalName: 'canmodifymailmergesettings',
		},
		HasActivities: false,
		HasNotes: true,
		Attributes: [
			{
				'@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata',
				AttributeType: 'String',
				AttributeTypeName: { Value: 'StringType' },
				SchemaName: 'Subject',
				IsPrimaryName: true,
				RequiredLevel: notRequired,
				MaxLength: spec.subjectMaxLength,
				FormatName: { Value: 'Text' },
				DisplayName: label('Subject'),
				Description: label('Subject of the activity'),
			},
		],
	};
}

/** A single line of text column (`Text`, or `Url` for links). */
export function textColumnDefinition(spec: {
	schemaName: string;
	displayName: string;
	maxLength: number;
	format?: 'Text' | 'Url';
}): Record<string, unknown> {
	return {
		'@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata',
		AttributeType: 'String',
		AttributeTypeName: { Value: 'StringType' },
		SchemaName: spec.schemaName,
		RequiredLevel: notRequired,
		MaxLength: spec.maxLength,
		FormatName: { Value: spec.format ?? 'Text' },
		DisplayName: label(spec.displayName),
		Description: label(spec.displayName),
	};
}

/** A date and time column, shown in each user's time zone. */
export function dateTimeColumnDefinition(spec: {
	schemaName: string;
	displayName: string;
}): Record<string, unknown> {
	return {
		'@odata.type': 'Microsoft.Dynamics.CRM.DateTimeAttributeMetadata',
		AttributeType: 'DateTime',
		AttributeTypeName: { Value: 'DateTimeType' },
		SchemaName: spec.schemaName,
		RequiredLevel: notRequired,
		Format: 'DateAndTime',
		DateTimeBehavior: { Value: 'UserLocal' },
		DisplayName: label(spec.displayName),
		Description: label(spec.displayName),
	};
}

/** An alternate key (EntityKeyMetadata): its index is built in the background. */
export function alternateKeyDefinition(spec: {
	schemaName: string;
	displayName: string;
	columns: string[];
}): Record<string, unknown> {
	return {
		SchemaName: spec.schemaName,
		DisplayName: label(spec.displayName),
		KeyAttributes: spec.columns,
	};
}

/** The URL path of a table's definition, by logical name. */
export function entityDefinitionPath(logicalName: string): string {
	assertIdentifier(logicalName, 'table name');
	return `EntityDefinitions(LogicalName=${odataLiteral(logicalName, 'string')})`;
}
