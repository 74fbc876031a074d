import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, DIALECTS, expectError, startTestServer, type TestServer } from './helpers.js';

// MLflow 3.6's prompt registry against our server, by replaying over HTTP the REST calls its client
// makes (MlflowClient.register_prompt, load_prompt, search_prompts, set_prompt_alias,
// link_prompt_version_to_run, link_prompt_versions_to_trace, delete_prompt_version, delete_prompt):
// prompts are registered models tagged mlflow.prompt.is_prompt=true whose versions carry the template
// in mlflow.prompt.text, kept out of plain registry searches; links are JSON tags on runs and traces.

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
type Tag = { key: string; value: string };

const IS_PROMPT = 'mlflow.prompt.is_prompt';
const TEXT = 'mlflow.prompt.text';
const LINKED = 'mlflow.linkedPrompts';
const tagsOf = (list: Tag[] | undefined) => Object.fromEntries((list ?? []).map((t) => [t.key, t.value]));

for (const dialect of DIALECTS) {
  describe(`prompts on ${dialect}`, () => {
    let srv: TestServer;
    let v3: string;
    const api = (method: Method, endpoint: string, body?: Record<string, unknown>) =>
      call(srv.api, method, endpoint, body);
    const api3 = (method: Method, endpoint: string, body?: Record<string, unknown>) =>
      call(v3, method, endpoint, body);

    /** MlflowClient.register_prompt for a text template, call by call as MLflow 3.6 makes them. */
    async function registerPrompt(
      name: string,
      template: string,
      commitMessage: string,
      tags: Record<string, string> = {},
    ) {
      const existing = await api('GET', 'registered-models/get', { name });
      if (existing.status === 404) {
        assert.equal(existing.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
        const created = await api('POST', 'registered-models/create', {
          name,
          description: commitMessage,
          tags: [
            { key: IS_PROMPT, value: 'true' },
            ...Object.entries(tags).map(([key, value]) => ({ key, value })),
          ],
        });
        assert.equal(created.status, 200, JSON.stringify(created.body));
      } else {
        assert.equal(existing.status, 200);
        assert.equal(tagsOf(existing.body.registered_model.tags)[IS_PROMPT], 'true');
        for (const [key, value] of Object.entries(tags)) {
          assert.equal((await api('POST', 'registered-models/set-tag', { name, key, value })).status, 200);
        }
      }
      const version = await api('POST', 'model-versions/create', {
        name,
        source: 'dummy-source',
        description: commitMessage,
        tags: [
          ...Object.entries(tags).map(([key, value]) => ({ key, value })),
          { key: IS_PROMPT, value: 'true' },
          { key: '_mlflow_prompt_type', value: 'text' },
          { key: TEXT, value: template },
        ],
      });
      assert.equal(version.status, 200, JSON.stringify(version.body));
      const model = await api('GET', 'registered-models/get', { name });
      assert.equal(model.status, 200);
      return { version: version.body.model_version, model: model.body.registered_model };
    }

    /** MlflowClient.load_prompt: the prompt's model, then a version by number or by alias. */
    async function loadPrompt(name: string, versionOrAlias: string) {
      const model = await api('GET', 'registered-models/get', { name });
      assert.equal(model.status, 200, JSON.stringify(model.body));
      assert.equal(tagsOf(model.body.registered_model.tags)[IS_PROMPT], 'true');
      const res = /^\d+$/.test(versionOrAlias)
        ? await api('GET', 'model-versions/get', { name, version: versionOrAlias })
        : await api('GET', 'registered-models/alias', { name, alias: versionOrAlias });
      return res;
    }

    before(async () => {
      srv = await startTestServer(dialect);
      v3 = srv.api.replace('/api/2.0/', '/api/3.0/');
      // A plain registered model beside the prompts.
      assert.equal((await api('POST', 'registered-models/create', { name: 'classifier' })).status, 200);
    });
    after(async () => {
      await srv.close();
    });

    test('register_prompt: a new prompt, then a second version with updated prompt tags', async () => {
      const first = await registerPrompt('greeting', 'Hello, {{ name }}!', 'first draft', {
        team: 'support',
      });
      assert.equal(first.version.version, '1');
      assert.equal(first.version.source, 'dummy-source');
      assert.equal(first.version.status, 'READY');
      assert.equal(first.version.description, 'first draft');
      assert.deepEqual(tagsOf(first.version.tags), {
        team: 'support',
        [IS_PROMPT]: 'true',
        _mlflow_prompt_type: 'text',
        [TEXT]: 'Hello, {{ name }}!',
      });
      assert.deepEqual(tagsOf(first.model.tags), { [IS_PROMPT]: 'true', team: 'support' });
      assert.equal(first.model.description, 'first draft');

      const second = await registerPrompt('greeting', 'Hi {{ name }}, welcome back.', 'friendlier', {
        team: 'success',
      });
      assert.equal(second.version.version, '2');
      assert.equal(tagsOf(second.model.tags).team, 'success');
    });

    test('load_prompt by version and by alias; set_prompt_alias and delete_prompt_alias', async () => {
      const v1 = await loadPrompt('greeting', '1');
      assert.equal(v1.status, 200);
      assert.equal(tagsOf(v1.body.model_version.tags)[TEXT], 'Hello, {{ name }}!');
      // set_prompt_alias checks the version exists (load), then sets the registered model alias.
      assert.equal((await loadPrompt('greeting', '2')).status, 200);
      assert.equal(
        (
          await api('POST', 'registered-models/alias', {
            name: 'greeting',
            alias: 'production',
            version: '2',
          })
        ).status,
        200,
      );
      const aliased = await loadPrompt('greeting', 'production');
      assert.equal(aliased.status, 200);
      assert.equal(aliased.body.model_version.version, '2');
      assert.deepEqual(aliased.body.model_version.aliases, ['production']);
      assert.equal(tagsOf(aliased.body.model_version.tags)[TEXT], 'Hi {{ name }}, welcome back.');
      const model = await api('GET', 'registered-models/get', { name: 'greeting' });
      assert.deepEqual(model.body.registered_model.aliases, [{ alias: 'production', version: '2' }]);
      // prompts:/greeting@latest: MLflow's store reads the alias `latest` as the newest version.
      const latest = await loadPrompt('greeting', 'latest');
      assert.equal(latest.status, 200, JSON.stringify(latest.body));
      assert.equal(latest.body.model_version.version, '2');
      // A missing version or alias answers what allow_missing turns into None.
      await expectError(loadPrompt('greeting', '9'), 404, 'RESOURCE_DOES_NOT_EXIST');
      await expectError(loadPrompt('greeting', 'staging'), 400, 'INVALID_PARAMETER_VALUE');
      assert.equal(
        (await api('DELETE', 'registered-models/alias', { name: 'greeting', alias: 'production' })).status,
        200,
      );
      await expectError(loadPrompt('greeting', 'production'), 400, 'INVALID_PARAMETER_VALUE');
    });

    test('search_prompts: prompts only, with a user filter, in pages', async () => {
      await registerPrompt('greeting-formal', 'Good day, {{ name }}.', 'formal');
      await registerPrompt('summary', 'Summarise: {{ text }}', 'v1');
      const search = (filter: string, extra: Record<string, unknown> = {}) =>
        api('GET', 'registered-models/search', { filter, max_results: 100, ...extra });
      const all = await search(`tags.\`${IS_PROMPT}\` = 'true'`);
      assert.equal(all.status, 200);
      assert.deepEqual(
        all.body.registered_models.map((m: { name: string }) => m.name),
        ['greeting', 'greeting-formal', 'summary'],
      );
      const greetings = await search(`tags.\`${IS_PROMPT}\` = 'true' AND name LIKE 'greeting%'`);
      assert.deepEqual(
        greetings.body.registered_models.map((m: { name: string }) => m.name),
        ['greeting', 'greeting-formal'],
      );
      const byTag = await search(`tags.\`${IS_PROMPT}\` = 'true' AND tags.team = 'success'`);
      assert.deepEqual(
        byTag.body.registered_models.map((m: { name: string }) => m.name),
        ['greeting'],
      );
      // Paging as the client pages: max_results and the token handed back.
      const names: string[] = [];
      let token: string | undefined;
      do {
        const page = await search(`tags.\`${IS_PROMPT}\` = 'true'`, {
          max_results: 2,
          ...(token ? { page_token: token } : {}),
        });
        names.push(...page.body.registered_models.map((m: { name: string }) => m.name));
        token = page.body.next_page_token;
      } while (token);
      assert.deepEqual(names, ['greeting', 'greeting-formal', 'summary']);
    });

    test('plain registry searches leave prompts out, however the client words it', async () => {
      const models = async (filter?: string) => {
        const res = await api('GET', 'registered-models/search', filter ? { filter } : {});
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return (res.body.registered_models ?? []).map((m: { name: string }) => m.name);
      };
      // MLflow 3.6's MlflowClient.search_registered_models appends this to every filter.
      assert.deepEqual(await models(`tag.\`${IS_PROMPT}\` != 'true'`), ['classifier']);
      assert.deepEqual(await models(`name LIKE '%' AND tag.\`${IS_PROMPT}\` != 'true'`), ['classifier']);
      assert.deepEqual(await models(), ['classifier']);
      assert.deepEqual(await models("name = 'greeting'"), []);
      assert.deepEqual(await models(`tags.\`${IS_PROMPT}\` = 'false'`), ['classifier']);
      assert.deepEqual(await models(`tags.\`${IS_PROMPT}\` != 'false'`), [
        'greeting',
        'greeting-formal',
        'summary',
      ]);

      const versions = async (filter: string) => {
        const res = await api('GET', 'model-versions/search', { filter });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return (res.body.model_versions ?? []).map(
          (v: { name: string; version: string }) => `${v.name}/${v.version}`,
        );
      };
      assert.deepEqual(await versions("name = 'greeting'"), []);
      assert.deepEqual(await versions(`name = 'greeting' AND tags.\`${IS_PROMPT}\` = 'true'`), [
        'greeting/2',
        'greeting/1',
      ]);
    });

    test('link_prompt_version_to_run and list_logged_prompts', async () => {
      const exp = (await api('POST', 'experiments/create', { name: 'prompt-runs' })).body.experiment_id;
      const run = (await api('POST', 'runs/create', { experiment_id: exp, start_time: Date.now() })).body.run
        .info.run_id;
      // The client reads the run's tags, then writes the JSON list with the new entry appended.
      const link = async (name: string, version: string) => {
        const current = tagsOf((await api('GET', 'runs/get', { run_id: run })).body.run.data.tags)[LINKED];
        const entries = current ? (JSON.parse(current) as unknown[]) : [];
        entries.push({ name, version });
        const res = await api('POST', 'runs/set-tag', {
          run_id: run,
          key: LINKED,
          value: JSON.stringify(entries),
        });
        assert.equal(res.status, 200);
      };
      await link('greeting', '1');
      await link('summary', '1');
      const stored = tagsOf((await api('GET', 'runs/get', { run_id: run })).body.run.data.tags)[LINKED];
      assert.deepEqual(JSON.parse(stored), [
        { name: 'greeting', version: '1' },
        { name: 'summary', version: '1' },
      ]);
      // Older clients tag the version with the runs it was logged in; list_logged_prompts searches those.
      await api('POST', 'model-versions/set-tag', {
        name: 'greeting',
        version: '1',
        key: 'mlflow.prompt.associatedRunIds',
        value: run,
      });
      const logged = await api('GET', 'model-versions/search', {
        filter: `tags.\`mlflow.prompt.associatedRunIds\` LIKE '%${run}%' AND tags.\`${IS_PROMPT}\` = 'true'`,
      });
      assert.deepEqual(
        logged.body.model_versions.map((v: { name: string; version: string }) => `${v.name}/${v.version}`),
        ['greeting/1'],
      );
      // detach_prompt_from_run removes the tag again.
      assert.equal(
        (
          await api('DELETE', 'model-versions/delete-tag', {
            name: 'greeting',
            version: '1',
            key: 'mlflow.prompt.associatedRunIds',
          })
        ).status,
        200,
      );
    });

    test('link_prompt_versions_to_trace: the trace record, then its mlflow.linkedPrompts tag', async () => {
      const exp = (await api('POST', 'experiments/create', { name: 'prompt-traces' })).body.experiment_id;
      const traceId = 'tr-0123456789abcdef0123456789abcdef';
      const started = await api3('POST', 'traces', {
        trace: {
          trace_info: {
            trace_id: traceId,
            trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: exp } },
            request_time: '2026-12-07T17:42:11.748Z',
            execution_duration: '0.100s',
            state: 'OK',
          },
        },
      });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      // get_trace_info (v3), then set_trace_tag (always the v2 path), as the default store does.
      const info = await api3('GET', `traces/${traceId}`);
      assert.equal(info.status, 200);
      assert.equal(info.body.trace.trace_info.tags?.[LINKED], undefined);
      const value = JSON.stringify([
        { name: 'greeting', version: '2' },
        { name: 'summary', version: '1' },
      ]);
      assert.equal((await api('PATCH', `traces/${traceId}/tags`, { key: LINKED, value })).status, 200);
      const linked = await api3('GET', `traces/${traceId}`);
      assert.deepEqual(JSON.parse(linked.body.trace.trace_info.tags[LINKED]), [
        { name: 'greeting', version: '2' },
        { name: 'summary', version: '1' },
      ]);
      // The UI finds a prompt's traces by that tag.
      const found = await api3('POST', 'traces/search', {
        locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: exp } }],
        filter: `tags.\`${LINKED}\` LIKE '%"greeting"%'`,
      });
      assert.deepEqual(
        found.body.traces.map((t: { trace_id: string }) => t.trace_id),
        [traceId],
      );
      // Linking to a trace that does not exist fails at the lookup.
      await expectError(api3('GET', 'traces/tr-missing'), 404, 'RESOURCE_DOES_NOT_EXIST');
    });

    test('prompt version tags; MLflow errors for prompts', async () => {
      assert.equal(
        (
          await api('POST', 'model-versions/set-tag', {
            name: 'summary',
            version: '1',
            key: 'reviewed',
            value: 'yes',
          })
        ).status,
        200,
      );
      assert.equal(tagsOf((await loadPrompt('summary', '1')).body.model_version.tags).reviewed, 'yes');
      // A template longer than a tag value may be gets MLflow's prompt-specific message.
      await expectError(
        api('POST', 'model-versions/create', {
          name: 'summary',
          source: 'dummy-source',
          tags: [
            { key: IS_PROMPT, value: 'true' },
            { key: TEXT, value: 'x'.repeat(100_001) },
          ],
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        'Prompt text exceeds max length of 100000 characters.',
      );
      await expectError(
        api('POST', 'model-versions/set-tag', {
          name: 'summary',
          version: '1',
          key: TEXT,
          value: 'y'.repeat(100_001),
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        'Prompt text exceeds max length of 100000 characters.',
      );
      // A version of a prompt that was never registered.
      await expectError(
        api('POST', 'model-versions/create', {
          name: 'nope',
          source: 'dummy-source',
          tags: [{ key: IS_PROMPT, value: 'true' }],
        }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        'Registered Model with name=nope not found',
      );
      // register_prompt with the name of a plain model: the client refuses it from this answer.
      const plain = await api('GET', 'registered-models/get', { name: 'classifier' });
      assert.equal(tagsOf(plain.body.registered_model.tags)[IS_PROMPT], undefined);
    });

    test('delete_prompt_version, then delete_prompt', async () => {
      await registerPrompt('scratch', 'one', 'a');
      await registerPrompt('scratch', 'two', 'b');
      assert.equal(
        (await api('DELETE', 'model-versions/delete', { name: 'scratch', version: '1' })).status,
        200,
      );
      await expectError(loadPrompt('scratch', '1'), 404, 'RESOURCE_DOES_NOT_EXIST');
      assert.equal((await loadPrompt('scratch', '2')).status, 200);
      assert.equal((await api('DELETE', 'registered-models/delete', { name: 'scratch' })).status, 200);
      await expectError(
        api('GET', 'registered-models/get', { name: 'scratch' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        'Registered Model with name=scratch not found',
      );
      const left = await api('GET', 'registered-models/search', { filter: `tags.\`${IS_PROMPT}\` = 'true'` });
      assert.ok(!left.body.registered_models.some((m: { name: string }) => m.name === 'scratch'));
    });
  });
}
