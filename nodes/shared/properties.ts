import type { INodeProperties } from 'n8n-workflow';

/**
 * Tables and Campaign resources are chosen with n8n's resource locator: a searchable list, sorted,
 * by default (n8n-io/n8n-docs docs/integrations/creating-nodes/build/reference/ux-guidelines.md,
 * "Resource Locator"; plan/node-ui-design.md, "Lists") or a name typed in. Nodes read them with
 * `extractValue`, which also takes the plain strings of workflows written before.
 */
type LocatorSettings = Omit<INodeProperties, 'type' | 'modes' | 'default'> & { default?: string };

/** A Dynamics 365 table, listed by `searchTables`. */
export function dynamicsTableLocator(property: LocatorSettings): INodeProperties {
	return {
		...property,
		type: 'resourceLocator',
		default: { mode: 'list', value: property.default ?? '' },
		modes: [
			{
				displayName: 'From List',
				name: 'list',
				type: 'list',
				typeOptions: { searchListMethod: 'searchTables', searchable: true },
			},
			{
				displayName: 'By Name',
				name: 'name',
				type: 'string',
				placeholder: 'e.g. contact',
				hint: 'The logical name of the table',
				// Dataverse logical names, as the client checks them.
				validation: [
					{
						type: 'regex',
						properties: {
							regex: '^[A-Za-z_][A-Za-z0-9_]*$',
							errorMessage: 'A logical name has only letters, digits and underscores, e.g. contact',
						},
					},
				],
			},
		],
	};
}

/** The Dynamics table a chain works on; its columns feed the node's other dropdowns. */
export const dynamicsTableProperty: INodeProperties = dynamicsTableLocator({
	displayName: 'Dynamics 365 Table',
	name: 'table',
	required: true,
	description:
		'The Dynamics 365 table of this chain: the one its Dynamics 365 Trigger reads. Its columns fill the field lists below.',
});

/** A Campaign resource (profile or a custom resource), listed by `searchCampaignResources`. */
export function campaignResourceLocator(property: LocatorSettings): INodeProperties {
	return {
		...property,
		type: 'resourceLocator',
		default: { mode: 'list', value: property.default ?? '' },
		modes: [
			{
				displayName: 'From List',
				name: 'list',
				type: 'list',
				typeOptions: { searchListMethod: 'searchCampaignResources', searchable: true },
			},
			{
				displayName: 'By Name',
				name: 'name',
				type: 'string',
				placeholder: 'e.g. profile',
				hint: 'The name of the resource in the Campaign API, e.g. profile or cusLoyaltyCard',
			},
		],
	};
}

/**
 * The value of a resource locator parameter in a subtitle expression: the value of the locator,
 * or the plain string of a workflow written before the locator.
 */
export function subtitleValue(name: string): string {
	const parameter = `$parameter[${JSON.stringify(name)}]`;
	return `(${parameter} !== null && typeof ${parameter} === "object" ? ${parameter}.value : ${parameter})`;
}
