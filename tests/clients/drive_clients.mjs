// SPDX-License-Identifier: Apache-2.0
// Drives a running hsmcad with two unmodified npm Vault clients (node-vault
// and hashi-vault-js), one PKI mount each, and writes every certificate and
// key they were handed to files that test_api_clients.sh then judges with
// openssl. What is asserted here is only what the clients themselves see:
// the calls succeed, the envelopes carry the fields the clients read, and
// refusals reach the caller as the client's own error type.
//
// Usage: node drive_clients.mjs OUTDIR
// Environment: VAULT_ADDR, VAULT_TOKEN, NV_CSR and HVJ_CSR (CSR files made by
// `openssl req`), NV_MOUNT and HVJ_MOUNT (mount paths to enable).
//
// Where a client has a method for an endpoint the method is used; where it
// has none the call goes through the client's own generic request path
// (node-vault: read/write/list; hashi-vault-js: its configured axios
// instance, `vault.instance`, which carries its base URL and headers). Each
// step logs which of the two it was, so the test log documents it.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nodeVault from 'node-vault';
import HashiVault from 'hashi-vault-js';

const out = process.argv[2];
const addr = process.env.VAULT_ADDR;
const token = process.env.VAULT_TOKEN;
if (!out || !addr || !token) {
    console.error('usage: VAULT_ADDR=... VAULT_TOKEN=... node drive_clients.mjs OUTDIR');
    process.exit(2);
}

// step(client, how, what, fn): runs one call and logs it as
//   node-vault  method  mount()  enable the PKI mount
// so that the log says which client method (or generic call) did what.
async function step(client, how, what, fn) {
    try {
        const r = await fn();
        console.log(`${client.padEnd(15)} ${how.padEnd(8)} ${what}`);
        return r;
    } catch (e) {
        const status = e.response?.statusCode ?? e.response?.status;
        const body = e.response?.body ?? e.response?.data;
        console.error(`FAIL ${client}: ${what}: ${e.message}` +
            (status ? ` (HTTP ${status}: ${JSON.stringify(body)})` : ''));
        throw e;
    }
}

// The PEM block(s) of a string, each ending in one newline, so that files
// compare byte for byte whatever trailing whitespace a response had.
function pem(s) {
    assert.equal(typeof s, 'string', `expected a PEM string, got ${typeof s}`);
    const blocks = s.match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g);
    assert.ok(blocks && blocks.length > 0, `no PEM block in ${JSON.stringify(s).slice(0, 120)}`);
    return blocks.map((b) => b + '\n').join('');
}

function save(dir, name, text) {
    writeFileSync(join(dir, name), text);
}

// A refusal (4xx) must reach the caller as the client's error carrying the
// status and OpenBao's {"errors":[...]} body with a message.
function assertRefused(e, status, re) {
    const st = e.response?.statusCode ?? e.response?.status;
    const body = e.response?.body ?? e.response?.data;
    assert.equal(st, status, `expected HTTP ${status}, got ${st}: ${JSON.stringify(body)}`);
    assert.ok(Array.isArray(body?.errors) && body.errors.length > 0 && body.errors[0].length > 0,
        `refusal without an errors message: ${JSON.stringify(body)}`);
    assert.match(body.errors.join(' '), re);
}

// ---------------------------------------------------------------- node-vault
async function withNodeVault() {
    const C = 'node-vault';
    const mount = process.env.NV_MOUNT;
    const dir = join(out, C);
    mkdirSync(dir, { recursive: true });
    const nv = nodeVault({ apiVersion: 'v1', endpoint: addr, token });

    const health = await step(C, 'method', 'health()', () => nv.health());
    assert.equal(health.initialized, true);
    assert.equal(health.sealed, false);

    await step(C, 'method', `mount({mount_point: '${mount}', type: 'pki'})`,
        () => nv.mount({ mount_point: mount, type: 'pki', description: 'node-vault test mount' }));
    const mounts = await step(C, 'method', 'mounts()', () => nv.mounts());
    const m = (mounts.data ?? mounts)[`${mount}/`];
    assert.ok(m, `sys/mounts does not list ${mount}/: ${JSON.stringify(mounts)}`);
    assert.equal(m.type, 'pki');

    const root = await step(C, 'generic', `write('${mount}/root/generate/internal')`,
        () => nv.write(`${mount}/root/generate/internal`, {
            common_name: 'node-vault test root', key_type: 'ec', key_bits: 256,
            ttl: '720h', issuer_name: 'nv-root',
        }));
    assert.equal(root.data.private_key, undefined, 'generate/internal returned a private key');
    save(dir, 'root.pem', pem(root.data.certificate));
    save(dir, 'root.serial', root.data.serial_number + '\n');

    await step(C, 'generic', `write('${mount}/roles/web')`, () => nv.write(`${mount}/roles/web`, {
        allowed_domains: ['example.com'], allow_subdomains: true,
        key_type: 'ec', key_bits: 256, ttl: '24h', max_ttl: '48h',
    }));
    const role = await step(C, 'generic', `read('${mount}/roles/web')`, () => nv.read(`${mount}/roles/web`));
    assert.deepEqual(role.data.allowed_domains, ['example.com']);
    assert.equal(role.data.key_type, 'ec');
    const roles = await step(C, 'generic', `list('${mount}/roles') [LIST verb]`, () => nv.list(`${mount}/roles`));
    assert.deepEqual(roles.data.keys, ['web']);

    const issued = await step(C, 'generic', `write('${mount}/issue/web')`, () => nv.write(`${mount}/issue/web`, {
        common_name: 'nv-issue.example.com', alt_names: 'alt.nv-issue.example.com', ttl: '1h',
    }));
    assert.equal(issued.data.private_key_type, 'ec');
    save(dir, 'issue.pem', pem(issued.data.certificate));
    save(dir, 'issue.key', pem(issued.data.private_key));
    save(dir, 'issue.issuing_ca.pem', pem(issued.data.issuing_ca));
    save(dir, 'issue.ca_chain.pem', issued.data.ca_chain.map(pem).join(''));
    save(dir, 'issue.serial', issued.data.serial_number + '\n');

    const csr = readFileSync(process.env.NV_CSR, 'utf8');
    const signed = await step(C, 'generic', `write('${mount}/sign/web')`, () => nv.write(`${mount}/sign/web`, {
        csr, common_name: 'nv-sign.example.com', ttl: '1h',
    }));
    assert.equal(signed.data.private_key, undefined, 'sign returned a private key');
    save(dir, 'sign.pem', pem(signed.data.certificate));
    save(dir, 'sign.serial', signed.data.serial_number + '\n');

    for (const [name, serial] of [['issue', issued.data.serial_number], ['sign', signed.data.serial_number]]) {
        const c = await step(C, 'generic', `read('${mount}/cert/${serial}')`, () => nv.read(`${mount}/cert/${serial}`));
        save(dir, `read-${name}.pem`, pem(c.data.certificate));
    }
    const certs = await step(C, 'generic', `list('${mount}/certs') [LIST verb]`, () => nv.list(`${mount}/certs`));
    save(dir, 'list.txt', certs.data.keys.join('\n') + '\n');

    // The same list through ?list=true, as node-vault sends it when the
    // server (or a proxy) does not take the LIST verb.
    const nvGet = nodeVault({ apiVersion: 'v1', endpoint: addr, token, noCustomHTTPVerbs: true });
    const certs2 = await step(C, 'generic', `list('${mount}/certs') [noCustomHTTPVerbs: GET ?list=1]`,
        () => nvGet.list(`${mount}/certs`));
    assert.deepEqual([...certs2.data.keys].sort(), [...certs.data.keys].sort());

    const chainPem = await step(C, 'generic', `read('${mount}/ca_chain') [PEM body]`, () => nv.read(`${mount}/ca_chain`));
    save(dir, 'ca_chain.pem', pem(chainPem));
    const chainJson = await step(C, 'generic', `read('${mount}/cert/ca_chain')`, () => nv.read(`${mount}/cert/ca_chain`));
    save(dir, 'cert_ca_chain.pem', pem(chainJson.data.ca_chain ?? chainJson.data.certificate));
    const caPem = await step(C, 'generic', `read('${mount}/ca/pem') [PEM body]`, () => nv.read(`${mount}/ca/pem`));
    save(dir, 'ca.pem', pem(caPem));

    // A refusal reaches node-vault as ApiResponseError with status and message.
    await step(C, 'generic', 'write(issue) outside the role is refused (400, message)', async () => {
        await assert.rejects(nv.write(`${mount}/issue/web`, { common_name: 'www.not-example.org' }),
            (e) => { assertRefused(e, 400, /not-example\.org|common_name|not allowed/i); return true; });
    });
    await step(C, 'generic', 'read of an unknown role is 404', async () => {
        await assert.rejects(nv.read(`${mount}/roles/no-such-role`),
            (e) => { assert.equal(e.response.statusCode, 404); return true; });
    });
    return { mount, issueSerial: issued.data.serial_number, issuePem: pem(issued.data.certificate) };
}

// ------------------------------------------------------------ hashi-vault-js
async function withHashiVaultJs(nvResult) {
    const C = 'hashi-vault-js';
    const mount = process.env.HVJ_MOUNT;
    const dir = join(out, C);
    mkdirSync(dir, { recursive: true });
    // The client's default timeout is 1 s; an RSA root made in a software
    // token on a loaded 2-core machine may take longer.
    const hv = new HashiVault({ https: false, baseUrl: `${addr}/v1`, rootPath: mount, timeout: 60000 });
    const auth = { headers: { 'X-Vault-Token': token } };

    const health = await step(C, 'method', 'healthCheck()', () => hv.healthCheck());
    assert.equal(health.initialized, true);
    assert.equal(health.sealed, false);
    const self = await step(C, 'method', 'lookupSelfToken()', () => hv.lookupSelfToken(token));
    assert.ok(Array.isArray(self.policies) && self.policies.includes('root'),
        `lookup-self policies: ${JSON.stringify(self.policies)}`);

    // hashi-vault-js has no method to enable a secrets engine.
    await step(C, 'generic', `instance.post('sys/mounts/${mount}')`,
        () => hv.instance.post(`sys/mounts/${mount}`, { type: 'pki', description: 'hashi-vault-js test mount' }, auth));
    const caps = await step(C, 'method', `sysCapabilitiesSelf(['${mount}/issue/web'])`,
        () => hv.sysCapabilitiesSelf(token, [`${mount}/issue/web`]));
    assert.deepEqual(caps.capabilities ?? caps[`${mount}/issue/web`], ['root']);

    const root = await step(C, 'method', 'generateRootCA({type: internal})', () => hv.generateRootCA(token, {
        type: 'internal', commonName: 'hashi-vault-js test root', keyType: 'rsa', keyBits: 2048, ttl: '720h',
    }));
    assert.equal(root.private_key, undefined, 'generate/internal returned a private key');
    save(dir, 'root.pem', pem(root.certificate));
    save(dir, 'root.serial', root.serial_number + '\n');

    await step(C, 'method', 'createPkiRole({name: web})', () => hv.createPkiRole(token, {
        name: 'web', allowedDomains: ['example.com'], allowSubdomains: true,
        keyType: 'rsa', keyBits: 2048, ttl: '24h', maxTtl: '48h', serverFlag: true, clientFlag: false,
    }));
    const role = await step(C, 'method', "readPkiRole('web')", () => hv.readPkiRole(token, 'web'));
    assert.deepEqual(role.allowed_domains, ['example.com']);
    assert.equal(role.client_flag, false);
    const roles = await step(C, 'method', 'listPkiRoles() [LIST verb]', () => hv.listPkiRoles(token));
    assert.deepEqual(roles.keys, ['web']);

    const issued = await step(C, 'method', "genPkiCertificate({role: 'web'})", () => hv.genPkiCertificate(token, {
        role: 'web', commonName: 'hvj-issue.example.com', altNames: 'alt.hvj-issue.example.com',
        ttl: '1h', format: 'pem',
    }));
    assert.equal(issued.private_key_type, 'rsa');
    save(dir, 'issue.pem', pem(issued.certificate));
    save(dir, 'issue.key', pem(issued.private_key));
    save(dir, 'issue.issuing_ca.pem', pem(issued.issuing_ca));
    save(dir, 'issue.ca_chain.pem', issued.ca_chain.map(pem).join(''));
    save(dir, 'issue.serial', issued.serial_number + '\n');

    // hashi-vault-js has sign-intermediate but no method for sign/:role.
    const csr = readFileSync(process.env.HVJ_CSR, 'utf8');
    const signedResp = await step(C, 'generic', `instance.post('${mount}/sign/web')`,
        () => hv.instance.post(`${mount}/sign/web`, { csr, common_name: 'hvj-sign.example.com', ttl: '1h' }, auth));
    const signed = signedResp.data.data;
    assert.equal(signed.private_key, undefined, 'sign returned a private key');
    save(dir, 'sign.pem', pem(signed.certificate));
    save(dir, 'sign.serial', signed.serial_number + '\n');

    // readCertificate sends no token: cert/:serial is unauthenticated in OpenBao.
    for (const [name, serial] of [['issue', issued.serial_number], ['sign', signed.serial_number]]) {
        const c = await step(C, 'method', `readCertificate('${serial}') [no token]`, () => hv.readCertificate(serial));
        save(dir, `read-${name}.pem`, pem(c.certificate));
    }
    const certs = await step(C, 'method', 'listCertificates() [LIST verb]', () => hv.listCertificates(token));
    save(dir, 'list.txt', certs.keys.join('\n') + '\n');

    const chain = await step(C, 'method', 'readCAChain() [no token, PEM body]', () => hv.readCAChain());
    save(dir, 'ca_chain.pem', pem(chain));
    // cert/ca_chain is one of the special serials cert/:serial takes.
    const chainJson = await step(C, 'method', "readCertificate('ca_chain') [no token]",
        () => hv.readCertificate('ca_chain'));
    save(dir, 'cert_ca_chain.pem', pem(chainJson.ca_chain ?? chainJson.certificate));
    const ca = await step(C, 'method', "readCACertificate('pem') [no token, PEM body]", () => hv.readCACertificate('pem'));
    save(dir, 'ca.pem', pem(ca));

    // The other client's certificate, read through this one, is the same.
    const other = await step(C, 'method', `readCertificate('${nvResult.issueSerial}', '${nvResult.mount}')`,
        () => hv.readCertificate(nvResult.issueSerial, nvResult.mount));
    assert.equal(pem(other.certificate), nvResult.issuePem);

    // A refusal reaches hashi-vault-js as an axios error marked isVaultError.
    await step(C, 'method', 'genPkiCertificate() outside the role is refused (400, message)', async () => {
        await assert.rejects(hv.genPkiCertificate(token, { role: 'web', commonName: 'www.not-example.org' }),
            (e) => { assert.equal(e.isVaultError, true); assertRefused(e, 400, /not-example\.org|common_name|not allowed/i); return true; });
    });
    await step(C, 'method', 'listCertificates() with a bad token is 403', async () => {
        await assert.rejects(hv.listCertificates('not-a-token'),
            (e) => { assert.equal(e.isVaultError, true); assertRefused(e, 403, /permission denied/); return true; });
    });
}

const nvResult = await withNodeVault();
await withHashiVaultJs(nvResult);
console.log('clients: all steps passed');
