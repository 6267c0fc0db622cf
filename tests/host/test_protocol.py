# SPDX-License-Identifier: GPL-2.0
"""The guest's output protocol (scripts/ferro/protocol.py): each kind, the
record blocks, the kernel log dump, and what is not the protocol's."""

import unittest

import tests.host.common as common

from ferro import protocol

LOG = '''\
[    1.000000] some kernel message
# kmsg: 1.500000 ferro_null: early excerpt
ok 1 module_load
# fact: null.capacity_mb=8
# entry: ferro_null queue_rq hits=3+ caller=blk_mq_dispatch_rq_list state=SYSTEM_RUNNING chain=a < b
# entry: ferro_phy probe hits=0 caller=- state=- chain=-
# bench: config=default driver=ferro_null workload=randread_qd1 threads=1 qd=8 run=2 value=12.5 unit=kiops
# cost: suite=phy case=poll driver=marvell ops=7 insns=69347 ns=-
# cost: suite=null case=plain/randread_qd1 driver=rnull ops=2048 insns=10605646 ns=26824448
# record (module):
#   event: init
#   frames: 2
not ok 2 something
# fact: broken line without a dot
# kmsg-dump: begin
# kmsg: 0.100000 first record
# kmsg: 1.500000 ferro_null: early excerpt
'''


class Protocol(unittest.TestCase):

	def test_each_kind(self):
		self.assertTrue(common.TOP)	# common puts scripts/ on the path
		got = list(protocol.lines(LOG))
		kinds = [line.kind for line in got]
		self.assertEqual(kinds, ['fact', 'entry', 'entry', 'bench', 'cost', 'cost', 'record',
					 'kmsg', 'kmsg'])
		fact, e1, e2, bench, poll, io, rec, k1, k2 = (line.fields for line in got)
		self.assertEqual(fact, {'driver': 'null', 'key': 'capacity_mb', 'value': '8'})
		self.assertEqual((e1['module'], e1['event'], e1['caller'], e1['system_state']),
				 ('ferro_null', 'queue_rq', 'blk_mq_dispatch_rq_list', 'SYSTEM_RUNNING'))
		self.assertEqual((e1['hits'], e1['hits_at_least'], e1['chain']), (3, True, ['a', 'b']))
		self.assertEqual((e2['caller'], e2['system_state'], e2['chain']), (None, None, []))
		self.assertEqual(bench, {'config': 'default', 'driver': 'ferro_null',
					 'workload': 'randread_qd1', 'threads': 1, 'qd': 8, 'run': 2,
					 'value': 12.5, 'unit': 'kiops'})
		self.assertEqual(poll, {'suite': 'phy', 'case': 'poll', 'driver': 'marvell', 'ops': 7,
					'insns': 69347, 'ns': None})
		self.assertEqual((io['case'], io['insns'], io['ns']),
				 ('plain/randread_qd1', 10605646, 26824448))
		self.assertEqual(rec, {'mode': 'module', 'fields': {'event': 'init', 'frames': '2'}})
		# The dump replaces the excerpts printed before it.
		self.assertEqual([k1['text'], k2['time']], ['first record', 1.5])

	def test_not_the_protocols(self):
		for line in ('ok 1 x', '[    1.0] # kmsg: 1.0 x', '# kmsg: soon x', '# entries: 3 armed',
			     '# fact: x=1', '#   key: value', '# cost: suite=a case=b driver=c ops=1 insns=x ns=1'):
			self.assertIsNone(protocol.parse_line(line), line)

	def test_record_at_the_end_and_carriage_returns(self):
		text = '# fact: null.a=1\r\n# record (built-in):\r\n#   event: init\r\n#   frames: 0'
		got = list(protocol.lines(text))
		self.assertEqual([line.kind for line in got], ['fact', 'record'])
		self.assertEqual(got[0].fields['value'], '1')
		self.assertEqual(got[1].fields, {'mode': 'built-in',
						 'fields': {'event': 'init', 'frames': '0'}})

	def test_without_dump_excerpts_stay(self):
		text = LOG.split('# kmsg-dump: begin')[0]
		self.assertEqual([k['text'] for k in protocol.of_kind(text, 'kmsg')],
				 ['ferro_null: early excerpt'])


if __name__ == '__main__':
	unittest.main()
