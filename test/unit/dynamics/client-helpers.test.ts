import { dynamicsScope, environmentUrlOf } from '../../../lib/dynamics/auth';
import {
	DataverseClient,
	buildQueryString,
	idFromEntityUrl,
	splitChanges,
} from '../../../lib/dynamics/client';
import { isExpiredDeltaTokenError, readDataverseError } from '../../../lib/dynamics/errors';
import { eq } from '../../../lib/dynamics/odata';
import type { Transport } from '../../../lib/http/types';

const ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const noTransport: Transport = {
	request: () => Promise.reject(new Error('no request expected')),
};

describe('Dataverse URLs', () => {
	it('encodes query options with %20 and keeps quotes readable', () => {
		expect(
			buildQueryString({
				$select: 'firstname,lastname',
				$filter: eq('lastname', "O'Bryan & Co #1").toString(),
				$orderby: undefined,
			}),
		).toBe("?$select=firstname%2Clastname&$filter=lastname%20eq%20'O''Bryan%20%26%20Co%20%231'");
		expect(buildQueryString({})).toBe('');
	});

	it('reads the id of an OData-EntityId header', () => {
		expect(idFromEntityUrl(`https://org.example/api/data/v9.2/contacts(${ID.toUpperCase()})`)).toBe(
			ID,
		);
		expect(idFromEntityUrl('https://org.example/api/data/v9.2/contacts(key=1)')).toBeUndefined();
		expect(idFromEntityUrl(undefined)).toBeUndefined();
	});

	it('builds the API root from the environment URL', () => {
		const client = new DataverseClient({
			transport: noTransport,
			environmentUrl: 'https://org.example/',
		});
		expect(client.apiBase).toBe('https://org.example/api/data/v9.2/');
		expect(
			() => new DataverseClient({ transport: noTransport, environmentUrl: 'not a URL' }),
		).toThrow(/Invalid Dataverse environment URL/);
		expect(
			() => new DataverseClient({ transport: noTransport, environmentUrl: 'ftp://org.example' }),
		).toThrow(/Invalid Dataverse environment URL/);
		expect(
			() =>
				new DataverseClient({
					transport: noTransport,
					environmentUrl: 'https://o.example',
					maxPageSize: 0,
				}),
		).toThrow(/Invalid page size/);
	});

	it('derives the environment URL from the Web API endpoint users paste', () => {
		// The Power Platform admin center shows the Web API endpoint with an `api` label.
		for (const pasted of [
			'https://org.api.crm4.dynamics.com/api/data/v9.2/',
			'HTTPS://ORG.API.CRM4.DYNAMICS.COM/api/data/v9.2',
			'https://org.crm4.dynamics.com///',
			' org.crm4.dynamics.com ',
			'https://org.crm4.dynamics.com/main.aspx?appid=1',
		]) {
			expect(environmentUrlOf(pasted)).toBe('https://org.crm4.dynamics.com');
		}
		expect(environmentUrlOf('https://contoso.api.crm.microsoftdynamics.us/api/data/v9.2/')).toBe(
			'https://contoso.crm.microsoftdynamics.us',
		);
		expect(environmentUrlOf('http://127.0.0.1:7071/api/data/v9.2/')).toBe('http://127.0.0.1:7071');
		expect(dynamicsScope('https://org.api.crm.dynamics.com/api/data/v9.2/')).toBe(
			'https://org.crm.dynamics.com/.default',
		);
		expect(environmentUrlOf('')).toBeUndefined();
		expect(environmentUrlOf('ftp://org.crm.dynamics.com')).toBeUndefined();
	});

	it('refuses to follow a link to another host, before sending anything', async () => {
		const client = new DataverseClient({
			transport: noTransport,
			environmentUrl: 'https://org.example',
		});
		const pages = client.queryPages('contact', {
			nextLink: 'https://evil.example/api/data/v9.2/contacts',
		});
		await expect(pages.next()).rejects.toThrow(/outside the Dataverse environment/);
	});
});

describe('Change tracking pages', () => {
	it('separates deleted rows from upserted rows', () => {
		const page = splitChanges([
			{ '@odata.etag': 'W/"1"', contactid: ID, firstname: 'Ana' },
			{
				'@odata.context': 'https://o/api/data/v9.2/$metadata#contacts/$deletedEntity',
				id: 'a',
				reason: 'deleted',
			},
			{ id: 'b', reason: 'deleted' },
		]);
		expect(page.upserted).toEqual([{ '@odata.etag': 'W/"1"', contactid: ID, firstname: 'Ana' }]);
		expect(page.deleted).toEqual(['a', 'b']);
	});
});

describe('Dataverse errors', () => {
	it('reads the code and message of an OData error body', () => {
		expect(
			readDataverseError({ error: { code: '0x80040217', message: 'Not there' } }, 404),
		).toEqual({
			code: '0x80040217',
			message: 'Not there',
		});
		expect(readDataverseError('<html>Bad gateway</html>', 502)).toEqual({
			code: '',
			message: '<html>Bad gateway</html>',
		});
		expect(readDataverseError('', 503)).toEqual({ code: '', message: 'HTTP 503' });
	});

	it('recognises an expired or unknown delta token', () => {
		expect(isExpiredDeltaTokenError(400, { code: '0x80044352', message: 'x' })).toBe(true);
		expect(
			isExpiredDeltaTokenError(400, {
				code: '',
				message:
					'Version stamp associated with the client has expired. Please perform a full sync.',
			}),
		).toBe(true);
		expect(
			isExpiredDeltaTokenError(400, {
				code: '0x80044331',
				message: 'A validation error occurred.',
			}),
		).toBe(false);
		// Microsoft does not document the status: the code or the message decides, whatever it is.
		expect(isExpiredDeltaTokenError(503, { code: '0x80044352', message: 'x' })).toBe(true);
		expect(
			isExpiredDeltaTokenError(500, {
				code: '',
				message: 'Version stamp associated with the client has expired.',
			}),
		).toBe(true);
		expect(isExpiredDeltaTokenError(503, { code: '', message: 'Service unavailable' })).toBe(false);
		expect(isExpiredDeltaTokenError(200, { code: '0x80044352', message: 'x' })).toBe(false);
	});
});
