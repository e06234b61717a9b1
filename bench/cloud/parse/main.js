// The benchmark's cloud code on Parse Server, loaded in-process through its `cloud`
// option (bench/servers.py): the same two handlers as bench/cloud/hangar/main.py.

Parse.Cloud.define('hello', (request) => `Hello ${request.params.name ?? 'world'}`);

Parse.Cloud.beforeSave('Guarded', (request) => {
  const score = request.object.get('score');
  if (typeof score !== 'number' || score < 0) {
    throw new Parse.Error(142, 'score must be a number >= 0');
  }
  request.object.set('checked', true);
});
