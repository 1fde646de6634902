import torch

from mimic.devices import generator_device, upload


def test_upload_to_the_cpu_is_the_tensor_itself_and_generators_draw_where_they_live():
    x = torch.arange(4)
    assert upload(x, "cpu") is x
    assert generator_device(None) == torch.device("cpu")
    assert generator_device(torch.Generator()) == torch.device("cpu")
