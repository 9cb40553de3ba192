"""The CPU description fields behind onednn_linear's choice and the benchmark headers."""
from wsol_mm.utils import cpu_info_field, cpu_model, cpu_vendor

CPUINFO = '''processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu vme avx512f amx_tile

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Processor
'''


def test_fields_of_a_cpuinfo_file(tmp_path):
    path = tmp_path / 'cpuinfo'
    path.write_text(CPUINFO)
    assert cpu_info_field('vendor_id', str(path)) == 'GenuineIntel'
    assert cpu_info_field('model name', str(path)) == 'Intel(R) Xeon(R) Processor'
    assert cpu_info_field('flags', str(path)) == 'fpu vme avx512f amx_tile'
    assert cpu_info_field('model', str(path)) == ''  # a prefix of 'model name' is not it
    assert cpu_info_field('vendor_id', str(tmp_path / 'missing')) == ''


def test_this_machine_has_strings():
    assert isinstance(cpu_vendor(), str)
    assert cpu_model()
